"""Stand-in for 3ds Max's ``qtmax``: ``GetQMaxMainWindow()`` is the main window as a QWidget;
tests set ``MAIN_WINDOW``."""

MAIN_WINDOW = None


def GetQMaxMainWindow():
    return MAIN_WINDOW
