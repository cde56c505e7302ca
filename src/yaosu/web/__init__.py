"""The web faces: the public portal (``pages``) with its templates, static assets and words."""
