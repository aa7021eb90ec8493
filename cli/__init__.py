"""The ``naswot-ray`` command line (click). Thin: parses, validates, calls the library."""
