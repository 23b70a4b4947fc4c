"""Deploy kcore's CircuitPython-safe modules from built wheels to a board's lib/ folder.

Run it as ``python tools/circuitpy_deploy --wheels dist --target DIR`` (or
``python -m circuitpy_deploy`` from tools/); see ``__main__.py`` for the options.
"""
