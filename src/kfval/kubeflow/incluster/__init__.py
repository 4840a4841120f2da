"""Programs the suite runs inside a pod (through exec), shipped as their source text.

They run with the pod's own interpreter and libraries, so they use only what every image of their
kind has (a Jupyter image always has the standard library and websocket-client, a dependency of
jupyter_server), never the suite.
"""
