"""Posts of generated images, feeds, likes, comments and follows."""
