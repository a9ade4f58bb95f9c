"""Maya plug-in: loading it (Plug-in Manager, or auto-load) adds the "Azure" menu.

Named apart from the ``azrender_maya`` package (scripts/), which does the work: Maya imports a
plug-in file as a module of the same name.
"""


def maya_useNewAPI():
    """Tells Maya this plug-in uses the Python API 2.0."""


def initializePlugin(plugin):
    from azrender_maya import menu

    menu.install()


def uninitializePlugin(plugin):
    from azrender_maya import menu

    menu.remove()
