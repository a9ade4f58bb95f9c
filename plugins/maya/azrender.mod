+ azrender 0.1.0 .
PYTHONPATH +:= scripts
PYTHONPATH +:= lib
MAYA_PLUG_IN_PATH +:= plug-ins
