"""The photo library where people keep their photos: finding them, reading camera RAW
files through their embedded preview, and tagging them with XMP sidecars that photo
managers read. Plain Python, no Django, like the engine."""
