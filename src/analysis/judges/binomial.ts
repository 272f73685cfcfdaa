/**
 * Exact binomial tail, for judging error counts: with few requests a ratio or a limit is breached
 * by chance alone (one error in 200 requests against a source at 0.5 % is "2×" a quarter of the
 * time), so an error-rate Fail also needs the excess to be unlikely under chance.
 */

/** P(X ≥ k) for X ~ Binomial(n, p). Exact (log space) below 10^6 terms, normal approximation above. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  if (Math.min(k, n - k) > 1_000_000) {
    const mean = n * p;
    const sd = Math.sqrt(n * p * (1 - p));
    return upperNormal((k - 0.5 - mean) / sd);
  }
  // Sum the shorter side: P(X >= k) directly when k is above the mean, else 1 - P(X <= k - 1).
  if (k > n * p) return Math.min(1, sumPmf(k, n, n, p));
  return Math.max(0, 1 - sumPmf(0, k - 1, n, p));
}

/** Σ pmf(i) for i in [from, to], computed from the log of the first term. */
function sumPmf(from: number, to: number, n: number, p: number): number {
  const logQ = Math.log1p(-p);
  const logP = Math.log(p);
  let logTerm = logChoose(n, from) + from * logP + (n - from) * logQ;
  let sum = 0;
  for (let i = from; i <= to; i++) {
    const term = Math.exp(logTerm);
    sum += term;
    if (i > n * p && term < sum * 1e-17) break; // the rest cannot matter
    logTerm += Math.log((n - i) / (i + 1)) + logP - logQ;
  }
  return sum;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

const cache: number[] = [0];
function logFactorial(n: number): number {
  if (n < 1000) {
    for (let i = cache.length; i <= n; i++) cache[i] = (cache[i - 1] as number) + Math.log(i);
    return cache[n] as number;
  }
  // Stirling with two correction terms: error below 1e-12 for n >= 1000.
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

function upperNormal(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const d = 0.3989422804014327 * Math.exp((-z * z) / 2);
  const tail = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return z >= 0 ? tail : 1 - tail;
}
