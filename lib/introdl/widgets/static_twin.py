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


# What a reader must run before a slider moves: the explorer's cell needs the names that the
# cells before it define, so running it alone fails.
RUN_NOTE = "run the cells above and this one, or Run All"


def figure_to_png(figure, *, dpi=80, palette=False):
    """The figure as PNG bytes (closing it). No software version is written, so bytes are stable.

    ``palette=True`` stores it in a few colours (see ``palette_png``).
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(figure)
    if palette:
        return palette_png(np.asarray(Image.open(buffer)))
    return buffer.getvalue()


PALETTE_COLOURS = 24


def palette_png(pixels, colours=PALETTE_COLOURS):
    """RGB or RGBA pixels (H, W, 3 or 4) as a PNG with a palette of ``colours`` colours (24).

    Line art on white (a few line colours and their antialiased edges) loses nothing visible,
    and the PNG is about 4 times smaller than full colour: the website's static twin embeds one
    per grid value, and a chapter page must stay light.
    """
    image = Image.fromarray(np.asarray(pixels)).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colours, method=Image.Quantize.MAXCOVERAGE).save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def crop_panels(png, boxes):
    """Cut a frame into panels: one PNG (few colours) per box (left, top, right, bottom), given
    as fractions of the frame's width and height.

    On a narrow screen the panels of a figure stack instead of shrinking side by side, so their
    text stays legible.
    """
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    return [palette_png(image.crop((round(left * width), round(top * height),
                                    round(right * width), round(bottom * height))))
            for left, top, right, bottom in boxes]


def slider_html(frames, labels, *, description, readouts=None, initial_index=0, alt="figure", panel_alts=()):
    """Self-contained HTML: a range input that swaps between precomputed PNG frames.

    frames: one per slider position, each PNG bytes or a list of PNG bytes (the panels of one
        figure, shown side by side where they fit and one below the other where they do not);
    labels: the value shown for each; readouts: optional text shown under the slider for each
    position (e.g. "gap = 0.12"); alt: each position's alt text (a list) or the same for all (a
    string), given to its first panel; panel_alts: optional names of the other panels (their
    alt text is "<name>, <description> = <label>").

    Accessible: the range input is named by its label and announces its value as
    "<description> = <label>" (aria-valuetext); the readout is a polite live region; the alt
    text follows the frame. The arrow keys move the slider.

    Where the inline script cannot run (a notebook opened in JupyterLab before it is trusted,
    which strips scripts and the ``hidden`` attribute but keeps inline styles), the slider stays
    hidden (``display:none``) and a line says what to run: the reader
    sees the initial frame, its readout and that line, never a control that does nothing.
    """
    if not frames or len(frames) != len(labels):
        raise ValueError(f"need one label per frame, got {len(frames)} frames and {len(labels)} labels")
    readouts = list(readouts) if readouts is not None else [""] * len(frames)
    alts = [alt] * len(frames) if isinstance(alt, str) else list(alt)
    if len(readouts) != len(frames) or len(alts) != len(frames):
        raise ValueError(f"need one readout and one alt text per frame ({len(frames)}), "
                         f"got {len(readouts)} readouts and {len(alts)} alt texts")
    panels = [[frame] if isinstance(frame, bytes) else list(frame) for frame in frames]
    if len({len(p) for p in panels}) != 1:
        raise ValueError(f"every frame needs the same number of panels, got {[len(p) for p in panels]}")
    if len(panel_alts) != len(panels[0]) - 1:
        raise ValueError(f"need a name for each panel after the first ({len(panels[0]) - 1}), got {len(panel_alts)}")
    sources = [["data:image/png;base64," + base64.b64encode(png).decode("ascii") for png in frame]
               for frame in panels]
    valuetexts = [f"{description} = {label}" for label in labels]
    alts = [[a] + [f"{name}, {value}" for name in panel_alts] for a, value in zip(alts, valuetexts)]
    # A stable id (from the content) keeps the stored notebook output identical run after run.
    uid = "explorer-" + hashlib.sha1("".join(sum(sources, [])).encode()).hexdigest()[:12]
    i = int(initial_index)
    # The initial frame's pictures are stored once, in the <img> elements below; the script
    # takes them from there (null in the list), so the page does not carry them twice.
    listed = [None if k == i else frame for k, frame in enumerate(sources)]
    data = json.dumps({"src": listed, "label": list(labels), "readout": readouts, "alt": alts,
                       "valuetext": valuetexts})
    e = html.escape
    images = "\n".join(f'<img class="introdl-explorer-frame" src="{src}" alt="{e(text)}" style="max-width:100%;height:auto">'
                       for src, text in zip(sources[i], alts[i]))
    return f"""<div class="introdl-explorer" id="{uid}" style="font-family:sans-serif">
<div class="introdl-explorer-controls" style="display:none">
<div style="display:flex;flex-wrap:wrap;align-items:center;gap:0.3em 0.8em">
<label for="{uid}-range">{e(description)}</label>
<input type="range" id="{uid}-range" min="0" max="{len(frames) - 1}" step="1" value="{i}" aria-valuetext="{e(valuetexts[i])}" style="width:20em;max-width:100%">
<span class="introdl-explorer-value">{e(str(labels[i]))}</span>
</div>
</div>
<div class="introdl-explorer-note" style="font-style:italic">To move the slider, {RUN_NOTE}. Shown: {e(valuetexts[i])}.</div>
<div class="introdl-explorer-readout" aria-live="polite" style="min-height:1.4em">{e(readouts[i])}</div>
<div class="introdl-explorer-frames" style="display:flex;flex-wrap:wrap;align-items:flex-start">
{images}
</div>
<script>
(function () {{
  var root = document.currentScript.parentNode;
  var data = {data};
  var slider = root.querySelector("input[type=range]");
  var frames = root.querySelectorAll(".introdl-explorer-frame");
  data.src[{i}] = Array.prototype.map.call(frames, function (f) {{ return f.getAttribute("src"); }});
  function show() {{
    var k = Number(slider.value);
    for (var j = 0; j < frames.length; j++) {{
      frames[j].src = data.src[k][j];
      frames[j].alt = data.alt[k][j];
    }}
    slider.setAttribute("aria-valuetext", data.valuetext[k]);
    root.querySelector(".introdl-explorer-value").textContent = data.label[k];
    root.querySelector(".introdl-explorer-readout").textContent = data.readout[k];
  }}
  slider.addEventListener("input", show);
  root.querySelector(".introdl-explorer-note").style.display = "none";
  root.querySelector(".introdl-explorer-controls").style.display = "";
}})();
</script>
</div>"""
