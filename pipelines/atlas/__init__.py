"""The atlas: a static site of maps and territory portraits, written from the published warehouse.

`site.write_atlas` writes it (after each publish, and by `territoires atlas`); `projection`
turns geo.shapes into the drawing's coordinates (metropolitan France and the DROM in insets);
`data` writes the data files the pages read; `serve` serves the folder on 127.0.0.1;
`image` draws one indicator's map as a PNG or SVG for reports (`territoires map`).
The pages themselves are static files under `static/`: no library, no request to another host.
"""
