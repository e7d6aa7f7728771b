"""Media: the content repository (spec "Content repository"), thumbnails first."""
