"""The API's routers: artworks (browse, similar), search (upload), health, admin."""
