// The page: picks the device, trains the spiral classifier with live progress, then predicts on
// held-out points. The outcome is published for tests as <output id="result" data-*> and as
// window.__kilnResult (window.__kilnError when the run fails).
import '@kiln/backend-cpu';
import { webgpuAdapterInfo } from '@kiln/backend-webgpu';
import * as k from '@kiln/core';
import { drawBoundary, drawCurve, gridPoints } from './plot.js';
import { spiral } from './spiral.js';
import { accuracy, HYPER, makeModel, predict, probabilities, train } from './train.js';

const GRID = 72;
const BOUNDARY_EVERY = 30;

const $ = (id) => document.getElementById(id);

function showStatus(text, kind = '') {
  $('status').textContent = text;
  $('status').className = kind;
}

/** Lets the browser paint (rAF), without stalling where frames are not produced (hidden tabs). */
const nextFrame = () =>
  new Promise((resolve) => {
    requestAnimationFrame(() => resolve());
    setTimeout(resolve, 100);
  });

/**
 * 'webgpu' when the browser offers an adapter; otherwise the CPU backend with a visible note,
 * unless ?device=webgpu insists. ?device=cpu picks the CPU outright.
 */
async function chooseDevice(requested) {
  if (requested === 'cpu') return { device: 'cpu', note: 'Running on the CPU backend (?device=cpu).' };
  let reason;
  if (!navigator.gpu) {
    reason =
      'this browser does not expose WebGPU (navigator.gpu is undefined; Chrome/Edge 113+, or a flag elsewhere)';
  } else {
    try {
      await k.ready('webgpu');
      const info = await webgpuAdapterInfo();
      const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed';
      return {
        device: 'webgpu',
        adapter: `${name}${info.isFallbackAdapter ? ' (software fallback adapter)' : ''}`,
      };
    } catch (e) {
      reason = e.message;
    }
  }
  if (requested === 'webgpu') throw new Error(`WebGPU is not available: ${reason}`);
  return { device: 'cpu', note: `WebGPU is not available: ${reason}. Falling back to the CPU backend.` };
}

async function run() {
  const requested = new URLSearchParams(location.search).get('device') ?? 'auto';
  const { device, adapter, note } = await chooseDevice(requested);
  const where = device === 'webgpu' ? `WebGPU adapter: ${adapter}` : note;
  showStatus(`Training on '${device}'. ${where}`, device === 'webgpu' ? '' : 'note');

  const trainSet = spiral({ perClass: 100, seed: 1 });
  const testSet = spiral({ perClass: 50, seed: 2 });
  k.manualSeed(0);
  const model = makeModel(trainSet.classes).to(device);
  const grid = gridPoints(GRID);
  const { steps } = HYPER;
  $('progress').max = steps;

  const started = performance.now();
  const losses = await train(model, trainSet, device, HYPER, async ({ step, loss, history }) => {
    $('progress').value = step;
    $('step').textContent = `step ${step} / ${steps}`;
    $('loss').textContent = `loss ${loss.toFixed(4)}`;
    drawCurve($('curve'), history, steps);
    if (step === 1 || step % BOUNDARY_EVERY === 0 || step === steps) {
      drawBoundary($('boundary'), await probabilities(model, grid, device), GRID, trainSet);
    }
    await nextFrame();
  });
  const seconds = (performance.now() - started) / 1000;

  const result = {
    device,
    adapter: adapter ?? null,
    steps,
    seconds,
    firstLoss: losses[0].loss,
    finalLoss: losses.at(-1).loss,
    trainAccuracy: accuracy(await predict(model, trainSet.x, device), trainSet.labels),
    testAccuracy: accuracy(await predict(model, testSet.x, device), testSet.labels),
    testPoints: testSet.n,
  };
  const out = $('result');
  out.textContent =
    `Held-out accuracy ${(100 * result.testAccuracy).toFixed(1)}% on ${result.testPoints} points ` +
    `(training ${(100 * result.trainAccuracy).toFixed(1)}%), loss ${result.firstLoss.toFixed(3)} → ` +
    `${result.finalLoss.toFixed(4)}, ${steps} steps in ${seconds.toFixed(1)} s on '${device}'.`;
  Object.assign(out.dataset, {
    device,
    accuracy: String(result.testAccuracy),
    firstLoss: String(result.firstLoss),
    finalLoss: String(result.finalLoss),
  });
  showStatus(`Done on '${device}'. ${where}`, device === 'webgpu' ? '' : 'note');
  window.__kilnResult = result;
}

run().catch((e) => {
  showStatus(`Failed: ${e.message}`, 'error');
  window.__kilnError = e.message;
  console.error(e);
});
