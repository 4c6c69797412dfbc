"""Environment profiles and deployment switches for the event pipeline."""
