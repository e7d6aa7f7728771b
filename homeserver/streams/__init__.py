"""Stream positions and the pagination tokens clients hold."""
