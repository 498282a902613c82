"""Grid'5000 layer of execo: OAR, kadeploy, REST API, planning."""
