/* Philox streams and the conversions to uniform and normal doubles.
 * Lives in io/ with the other leaf utilities: no MPI, no state beyond Rng. */
#include <chempysbi/rng.h>
#include <Random123/philox.h>
#include <math.h>

void rng_init(Rng *r, uint64_t seed, RngPurpose purpose, uint64_t index)
{
  r->key[0] = seed;
  r->key[1] = (uint64_t)purpose;
  r->ctr[0] = index;
  r->ctr[1] = 0;
  r->ctr[2] = r->ctr[3] = 0;
  r->used = 4; /* forces a fresh block on first use */
  r->have_spare = 0;
  r->spare = 0.0;
}

static uint64_t rng_next_word(Rng *r)
{
  if (r->used == 4) {
    philox4x64_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
    philox4x64_key_t k = {{r->key[0], r->key[1]}};
    philox4x64_ctr_t o = philox4x64(c, k);
    for (int i = 0; i < 4; i++) r->out[i] = o.v[i];
    r->ctr[1]++; /* next block of this index */
    r->used = 0;
  }
  return r->out[r->used++];
}

double rng_uniform(Rng *r)
{
  /* (k + 0.5) / 2^53 never hits 0 or 1, so log(u) is always finite. */
  return ((double)(rng_next_word(r) >> 11) + 0.5) * 0x1.0p-53;
}

double rng_normal(Rng *r)
{
  if (r->have_spare) {
    r->have_spare = 0;
    return r->spare;
  }
  double u1 = rng_uniform(r), u2 = rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
  r->spare = rad * sin(ang);
  r->have_spare = 1;
  return rad * cos(ang);
}

uint64_t rng_below(Rng *r, uint64_t n)
{
  /* Rejection removes modulo bias; the loop ends with probability ~1 per try. */
  uint64_t lim = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = rng_next_word(r);
  while (x >= lim);
  return x % n;
}
