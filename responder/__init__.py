"""Auto-responder for ABC Sales AI leads."""
