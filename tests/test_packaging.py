import execo
import execo_engine
import execo_g5k


def test_packages_import_without_side_effects() -> None:
    assert execo.__version__
    assert execo_g5k.__doc__
    assert execo_engine.__doc__
