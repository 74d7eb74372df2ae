"""The IVR: a pure interpreter of dialplan menus, shared by live calls and the simulator."""
