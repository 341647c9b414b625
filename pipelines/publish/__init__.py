"""Publishing: vectors into Qdrant behind an alias that moves only after validation passed."""
