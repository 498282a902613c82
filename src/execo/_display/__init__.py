"""Layer 4, the display: reports, gathered outputs, progress. It imports from the layers below."""
