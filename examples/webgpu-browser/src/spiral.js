// The three-arm spiral of CS231n's "Putting it together" notes (and the TF.js playground): points
// along arm c at radius r in [0, 1] sit at angle 4r + 2*pi*c/3 plus Gaussian noise. Generated in
// the page from a seeded generator, so the example needs no download and every run sees the same
// points.

/** mulberry32: a small, seedable 32-bit generator (uniform in [0, 1)). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `perClass` points for each of `classes` arms: `x` holds (x, y) pairs row-major in [-1, 1]^2,
 * `labels` the arm index of each point.
 */
export function spiral({ perClass, classes = 3, noise = 0.2, seed = 1 }) {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const n = perClass * classes;
  const x = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++) {
      const j = c * perClass + i;
      const r = i / (perClass - 1);
      const angle = 4 * r + (2 * Math.PI * c) / classes + noise * gaussian();
      x[2 * j] = r * Math.sin(angle);
      x[2 * j + 1] = r * Math.cos(angle);
      labels[j] = c;
    }
  }
  return { x, labels, n, classes };
}
