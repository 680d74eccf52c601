/*
 * Reference output for @kiln/data's Random (src/random/pcg32.ts), from the PCG32 reference code by
 * Melissa O'Neill (pcg-c-basic: pcg_basic.c, Apache-2.0), and the first round of its demo program
 * pcg32-demo.c (seed 42, stream 54: six 32-bit outputs, 65 coin flips, 33 dice rolls, a shuffled
 * 52-card deck). The card shuffle is the same Fisher-Yates loop @kiln/data uses for permutations.
 *
 *   gcc -O2 -o /tmp/pcg32-reference pcg32-reference.c && /tmp/pcg32-reference > ../src/random/pcg32.reference.json
 */
#include <stdint.h>
#include <stdio.h>

typedef struct { uint64_t state; uint64_t inc; } pcg32_random_t;

static uint32_t pcg32_random_r(pcg32_random_t *rng) {
  uint64_t oldstate = rng->state;
  rng->state = oldstate * 6364136223846793005ULL + rng->inc;
  uint32_t xorshifted = (uint32_t)(((oldstate >> 18u) ^ oldstate) >> 27u);
  uint32_t rot = (uint32_t)(oldstate >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

static void pcg32_srandom_r(pcg32_random_t *rng, uint64_t initstate, uint64_t initseq) {
  rng->state = 0U;
  rng->inc = (initseq << 1u) | 1u;
  pcg32_random_r(rng);
  rng->state += initstate;
  pcg32_random_r(rng);
}

static uint32_t pcg32_boundedrand_r(pcg32_random_t *rng, uint32_t bound) {
  uint32_t threshold = -bound % bound;
  for (;;) {
    uint32_t r = pcg32_random_r(rng);
    if (r >= threshold) return r % bound;
  }
}

static void shuffle(pcg32_random_t *rng, int *a, int n) {
  for (int i = n; i > 1; --i) {
    int chosen = (int)pcg32_boundedrand_r(rng, (uint32_t)i);
    int t = a[chosen];
    a[chosen] = a[i - 1];
    a[i - 1] = t;
  }
}

int main(void) {
  static const char number[] = "A23456789TJQK", suit[] = "hcds";
  pcg32_random_t rng;
  pcg32_srandom_r(&rng, 42u, 54u);

  printf("{\n  \"seed\": 42,\n  \"stream\": 54,\n  \"outputs\": [");
  for (int i = 0; i < 6; ++i) printf("%s%u", i ? ", " : "", pcg32_random_r(&rng));
  printf("],\n  \"coins\": \"");
  for (int i = 0; i < 65; ++i) printf("%c", pcg32_boundedrand_r(&rng, 2) ? 'H' : 'T');
  printf("\",\n  \"rolls\": [");
  for (int i = 0; i < 33; ++i) printf("%s%d", i ? ", " : "", (int)pcg32_boundedrand_r(&rng, 6) + 1);
  int cards[52];
  for (int i = 0; i < 52; ++i) cards[i] = i;
  shuffle(&rng, cards, 52);
  printf("],\n  \"cards\": \"");
  for (int i = 0; i < 52; ++i) printf("%s%c%c", i ? " " : "", number[cards[i] / 4], suit[cards[i] % 4]);
  printf("\",\n");

  /* Large seeds and streams exercise all 64 bits of the state and increment. */
  pcg32_srandom_r(&rng, 0x1234567890abcULL, 0xfedcba987654ULL);
  printf("  \"bigSeed\": { \"seed\": %llu, \"stream\": %llu, \"outputs\": [", 0x1234567890abcULL, 0xfedcba987654ULL);
  for (int i = 0; i < 4; ++i) printf("%s%u", i ? ", " : "", pcg32_random_r(&rng));
  printf("] }\n}\n");
  return 0;
}
