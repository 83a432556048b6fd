"""Public HTTP command shapes: what front ends POST through the gateway to each service."""
