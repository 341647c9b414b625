"""What several test modules share: small data, settings files, a pipeline lake."""
