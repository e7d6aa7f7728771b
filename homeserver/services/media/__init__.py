"""Media: the content repository (spec "Content repository"): uploads,
downloads, where the bytes are kept, and thumbnails."""
