"""How a parked call waits: the deterministic scheduler, the virtual clock and the trace."""
