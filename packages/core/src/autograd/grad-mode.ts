// Whether ops record the graph. Off inside `noGrad`, and while a backward pass runs without
// createGraph (so gradients of gradients are recorded only when asked for).
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

export function setGradEnabled(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

function runWithGradMode<R>(on: boolean, fn: () => R): R {
  const prev = setGradEnabled(on);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    enabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      enabled = prev;
    }) as R;
  }
  enabled = prev;
  return result;
}

/** Runs `fn` without recording autograd history (torch.no_grad). */
export function noGrad<R>(fn: () => R): R {
  return runWithGradMode(false, fn);
}

/** Runs `fn` with autograd recording on, e.g. inside a noGrad block (torch.enable_grad). */
export function enableGrad<R>(fn: () => R): R {
  return runWithGradMode(true, fn);
}
