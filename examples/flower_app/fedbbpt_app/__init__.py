"""Fed-BBPT for vision as a Flower app, built from fedbbpt_lite's pieces."""
