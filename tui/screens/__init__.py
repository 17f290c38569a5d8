"""The app's screens: the explorer, help, presets picker and layer editor."""
