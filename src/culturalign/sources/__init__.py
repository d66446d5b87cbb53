"""Data sources more than one probe reads: pinned downloads and Hofstede's country scores."""
