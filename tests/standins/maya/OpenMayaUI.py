"""Stand-in for ``maya.OpenMayaUI``: ``MQtUtil.mainWindow()`` gives the address of Maya's main
window as a plain int, like Maya; tests set ``MAIN_WINDOW`` to a real QWidget."""

MAIN_WINDOW = None


class MQtUtil:
    @staticmethod
    def mainWindow():
        from shiboken6 import getCppPointer

        return getCppPointer(MAIN_WINDOW)[0]
