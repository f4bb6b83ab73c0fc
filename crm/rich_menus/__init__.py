"""Rich menus: the menu at the bottom of the chat, defined by the shop (areas, labels, actions),
drawn by the project, and the default or per-tag menu each customer should see."""
