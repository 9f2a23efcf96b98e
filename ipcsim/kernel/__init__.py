"""The model: pure state, no threads, no real time."""
