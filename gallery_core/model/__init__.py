"""The Keras model that embeds artworks: factories, the encoder, views and regions, the card.

Needs the ``ml`` extra (TensorFlow/Keras, OpenCV). Training lives in the top-level `training`
package, which the services never import.
"""
