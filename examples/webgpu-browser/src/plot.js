// 2-D canvas drawings of the run: the model's class regions over the plane and the loss curve.
// (Plain 2-D canvas, not a WebGPU canvas: the GPU is used for compute only.)

export const CLASS_COLORS = [
  [231, 76, 60],
  [46, 134, 222],
  [39, 174, 96],
];
/** The plotted square of the plane; the spiral lies within the unit disc. */
export const EXTENT = 1.15;

/** Cell centres of a `size` x `size` grid over the plotted square, row-major from the top left. */
export function gridPoints(size) {
  const points = new Float32Array(size * size * 2);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const i = row * size + col;
      points[2 * i] = -EXTENT + ((col + 0.5) / size) * 2 * EXTENT;
      points[2 * i + 1] = EXTENT - ((row + 0.5) / size) * 2 * EXTENT;
    }
  }
  return points;
}

/**
 * Shades each grid cell with the class colours weighted by the predicted probabilities (pale where
 * the model is unsure), then draws the labelled points on top.
 */
export function drawBoundary(canvas, probs, size, data) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  const classes = CLASS_COLORS.length;
  const cell = width / size;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const p = probs.subarray((row * size + col) * classes, (row * size + col + 1) * classes);
      const rgb = [0, 1, 2].map((ch) => {
        let v = 0;
        for (let c = 0; c < classes; c++) v += p[c] * CLASS_COLORS[c][ch];
        return Math.round(255 - 0.45 * (255 - v));
      });
      ctx.fillStyle = `rgb(${rgb.join(',')})`;
      ctx.fillRect(Math.floor(col * cell), Math.floor(row * cell), Math.ceil(cell), Math.ceil(cell));
    }
  }
  for (let i = 0; i < data.n; i++) {
    const px = ((data.x[2 * i] + EXTENT) / (2 * EXTENT)) * width;
    const py = ((EXTENT - data.x[2 * i + 1]) / (2 * EXTENT)) * height;
    ctx.beginPath();
    ctx.arc(px, py, 2.6, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${CLASS_COLORS[data.labels[i]].join(',')})`;
    ctx.fill();
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 0.8;
    ctx.stroke();
  }
}

/** Loss against step on a log scale, with the x axis spanning the whole run. */
export function drawCurve(canvas, history, steps) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  const pad = 6;
  ctx.clearRect(0, 0, width, height);
  if (history.length < 2) return;
  const logs = history.map((h) => Math.log10(Math.max(h.loss, 1e-6)));
  const top = Math.max(...logs);
  const bottom = Math.min(...logs, top - 1);
  ctx.beginPath();
  history.forEach((h, i) => {
    const x = pad + ((h.step - 1) / Math.max(1, steps - 1)) * (width - 2 * pad);
    const y = pad + ((top - logs[i]) / (top - bottom)) * (height - 2 * pad);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = '#1d2330';
  ctx.lineWidth = 1.5;
  ctx.stroke();
}
