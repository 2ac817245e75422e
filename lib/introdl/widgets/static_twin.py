"""The static twin of a slider: every frame rendered in advance, switched in the page by a script.

A website has no Python kernel behind it, so an ipywidgets slider there cannot recompute anything.
Instead we render the figure for every value on the slider's grid at build time, embed the PNGs
in one self-contained piece of HTML (no file or host outside it), and let a few lines of
JavaScript show the frame that matches the slider.
"""
import base64
import hashlib
import html
import io
import json

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image


def figure_to_png(figure, *, dpi=80, palette=False):
    """The figure as PNG bytes (closing it). No software version is written, so bytes are stable.

    ``palette=True`` stores it in 256 colours (see ``palette_png``).
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(figure)
    if palette:
        return palette_png(np.asarray(Image.open(buffer)))
    return buffer.getvalue()


def palette_png(pixels):
    """RGB or RGBA pixels (H, W, 3 or 4) as a PNG with a 256-colour palette.

    Line art on white loses nothing visible, and the PNG is about 3 times smaller: the website's
    static twin embeds one per grid value.
    """
    image = Image.fromarray(np.asarray(pixels)).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MAXCOVERAGE).save(buffer, format="png")
    return buffer.getvalue()


def slider_html(frames, labels, *, description, readouts=None, initial_index=0, alt="figure"):
    """Self-contained HTML: a range input that swaps between precomputed PNG frames.

    frames: list of PNG bytes, one per slider position; labels: the value shown for each;
    readouts: optional text shown under the slider for each position (e.g. "gap = 0.12").
    """
    if not frames or len(frames) != len(labels):
        raise ValueError(f"need one label per frame, got {len(frames)} frames and {len(labels)} labels")
    readouts = list(readouts) if readouts is not None else [""] * len(frames)
    sources = ["data:image/png;base64," + base64.b64encode(frame).decode("ascii") for frame in frames]
    # A stable id (from the content) keeps the stored notebook output identical run after run.
    uid = "explorer-" + hashlib.sha1("".join(sources).encode()).hexdigest()[:12]
    data = json.dumps({"src": sources, "label": list(labels), "readout": readouts})
    i = int(initial_index)
    return f"""<div class="introdl-explorer" id="{uid}">
<div style="display:flex;align-items:center;gap:0.8em;font-family:sans-serif">
<label for="{uid}-range">{html.escape(description)}</label>
<input type="range" id="{uid}-range" min="0" max="{len(frames) - 1}" step="1" value="{i}" style="width:20em">
<span class="introdl-explorer-value">{html.escape(str(labels[i]))}</span>
</div>
<div class="introdl-explorer-readout" style="font-family:sans-serif;min-height:1.4em">{html.escape(readouts[i])}</div>
<img class="introdl-explorer-frame" src="{sources[i]}" alt="{html.escape(alt)}" style="max-width:100%">
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var data = {data};
  var slider = root.querySelector("input[type=range]");
  function show() {{
    var k = Number(slider.value);
    root.querySelector(".introdl-explorer-frame").src = data.src[k];
    root.querySelector(".introdl-explorer-value").textContent = data.label[k];
    root.querySelector(".introdl-explorer-readout").textContent = data.readout[k];
  }}
  slider.addEventListener("input", show);
}})();
</script>
</div>"""
