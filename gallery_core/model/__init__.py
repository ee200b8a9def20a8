"""Image preprocessing and the CNN model that embeds artworks."""
