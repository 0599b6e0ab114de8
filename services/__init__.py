"""The three services of 台账: intake, dispatch, tracking (SPEC §5)."""
