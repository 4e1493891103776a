/* The farm's message protocol. A worker's request carries the results of its
 * last chunk ([n, rows, statuses, (funnel) outputs] as doubles); the answer is
 * the next chunk of row indices, or an empty one meaning stop. Rank 0 polls
 * for requests between its own rows, so a worker waits at most one row. */
#include <chempysbi/farm.h>
#include <time.h>

enum { TAG_REQ = 71, TAG_ASSIGN = 72 };

const char *const farm_master_names[] = {"auto", "compute", "serve", "FarmMaster", "FARM_MASTER_", NULL};
const char *const farm_write_names[] = {"direct", "funnel", "FarmWrite", "FARM_WRITE_", NULL};

typedef struct {
  PetscLogEvent ev_store, ev_compute;
  const FarmSpec *spec;
  PetscInt chunk_max;
  double *msg;       /* request/result message buffer */
  long long *assign; /* [n, rows...]; on rank 0 one per worker, sent without waiting */
  MPI_Request *sent; /* rank 0: the reply in flight to each worker */
} Farm;

/* This thread's CPU time: rank 0's cost per request without the time a loaded
 * machine gives its core to other processes. */
static double cpu_seconds(void)
{
  struct timespec t;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)) return 0;
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static PetscInt farm_chunk(const ParCtx *ctx, const FarmSpec *s, PetscInt left)
{
  if (s->chunk > 0) return PetscMin(s->chunk, left);
  /* Big chunks early for low overhead, small ones at the end so ranks finish together. */
  PetscInt c = left / (8 * ctx->size);
  return PetscMax(1, PetscMin(PetscMin(c, 256), left));
}

static PetscInt msg_len(const FarmSpec *s, PetscInt n) { return 1 + 2 * n + (s->direct ? 0 : n * s->nout); }

/* Pack a finished chunk into a message. */
static void pack(const FarmSpec *s, double *msg, PetscInt n, const PetscInt *rows, const double *out)
{
  msg[0] = (double)n;
  for (PetscInt i = 0; i < n; i++) {
    msg[1 + i] = (double)rows[i];
    msg[1 + n + i] = out[i * s->nout];
    if (!s->direct)
      for (PetscInt k = 0; k < s->nout; k++) msg[1 + 2 * n + i * s->nout + k] = out[i * s->nout + k];
  }
}

static PetscErrorCode compute_row(Farm *f, PetscInt row, double *out)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(f->ev_compute, 0, 0, 0, 0));
  PetscCall(f->spec->compute(f->spec->ctx, row, out));
  PetscCall(PetscLogEventEnd(f->ev_compute, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every store goes through here, so -log_view shows what writing costs. */
static PetscErrorCode store(Farm *f, PetscInt n, const PetscInt *rows, const double *out)
{
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(f->ev_store, 0, 0, 0, 0));
  PetscCall(f->spec->store(f->spec->ctx, n, rows, out));
  PetscCall(PetscLogEventEnd(f->ev_store, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode worker(const ParCtx *ctx, Farm *f, PetscInt *nrows)
{
  const FarmSpec *s = f->spec;
  PetscInt *rows, n = 0;
  double *out;
  MPI_Status st;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(f->chunk_max, &rows, f->chunk_max * s->nout, &out));
  for (;;) {
    pack(s, f->msg, n, rows, out);
    PetscCallMPI(MPI_Send(f->msg, (int)msg_len(s, n), MPI_DOUBLE, 0, TAG_REQ, ctx->comm));
    PetscCallMPI(MPI_Recv(f->assign, (int)(1 + f->chunk_max), MPI_LONG_LONG, 0, TAG_ASSIGN, ctx->comm, &st));
    n = (PetscInt)f->assign[0];
    if (n == 0) break;
    for (PetscInt i = 0; i < n; i++) rows[i] = (PetscInt)f->assign[1 + i];
    for (PetscInt i = 0; i < n; i++) PetscCall(compute_row(f, rows[i], out + i * s->nout));
    if (s->direct) PetscCall(store(f, n, rows, out));
    *nrows += n;
  }
  PetscCall(PetscFree2(rows, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  PetscInt pos, npending, active, done, ntotal;
  const PetscInt *pending;
  FarmSummary *sum;
  ParProgress prog;
} Master;

static void count_statuses(const FarmSpec *s, Master *m, PetscInt n, const double *status, PetscInt stride)
{
  for (PetscInt i = 0; i < n; i++) {
    int k = (int)status[i * stride];
    if (k < 0 || k >= FARM_MAX_STATUS) k = FARM_MAX_STATUS - 1;
    m->sum->count[k]++;
  }
  m->done += n;
}

static PetscErrorCode progress(const ParCtx *ctx, const FarmSpec *s, Master *m, PetscBool force)
{
  char extra[256] = "";
  PetscFunctionBeginUser;
  if (s->status_names)
    for (int k = 1; k < FARM_MAX_STATUS; k++)
      if (m->sum->count[k] && s->status_names[k]) {
        char one[64];
        PetscCall(PetscSNPrintf(one, sizeof(one), "%s%s=%" PetscInt_FMT, extra[0] ? " " : "", s->status_names[k],
                                m->sum->count[k]));
        PetscCall(PetscStrlcat(extra, one, sizeof(extra)));
      }
  PetscCall(par_progress_report(ctx, &m->prog, m->done, m->ntotal, extra, force));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Answer every waiting request: take its results, send the next chunk. */
static PetscErrorCode serve(const ParCtx *ctx, Farm *f, Master *m, PetscBool block)
{
  const FarmSpec *s = f->spec;
  int flag = 1;
  MPI_Status st;
  PetscFunctionBeginUser;
  for (;;) {
    if (block)
      PetscCallMPI(MPI_Probe(MPI_ANY_SOURCE, TAG_REQ, ctx->comm, &st));
    else
      PetscCallMPI(MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQ, ctx->comm, &flag, &st));
    if (!flag) break;
    block = PETSC_FALSE;
    double t0 = cs_wtime(), c0 = cpu_seconds(); /* rank 0's cost per request: from the probe's answer to the reply */
    int src = st.MPI_SOURCE, len;
    PetscCallMPI(MPI_Get_count(&st, MPI_DOUBLE, &len));
    PetscCallMPI(MPI_Recv(f->msg, len, MPI_DOUBLE, src, TAG_REQ, ctx->comm, MPI_STATUS_IGNORE));
    PetscInt n = (PetscInt)f->msg[0];
    if (n > 0) {
      if (!s->direct) {
        PetscInt *rows;
        PetscCall(PetscMalloc1(n, &rows));
        for (PetscInt i = 0; i < n; i++) rows[i] = (PetscInt)f->msg[1 + i];
        PetscCall(store(f, n, rows, f->msg + 1 + 2 * n));
        PetscCall(PetscFree(rows));
      }
      count_statuses(s, m, n, f->msg + 1 + n, 1);
    }
    PetscInt c = m->pos < m->npending ? farm_chunk(ctx, s, m->npending - m->pos) : 0;
    /* A blocking send would wait whenever the worker is slow to take it (a
       loaded core); the worker's previous reply is long delivered by now. */
    long long *a = f->assign + (size_t)src * (1 + f->chunk_max);
    PetscCallMPI(MPI_Wait(&f->sent[src], MPI_STATUS_IGNORE));
    a[0] = c;
    for (PetscInt i = 0; i < c; i++) a[1 + i] = m->pending[m->pos + i];
    m->pos += c;
    if (c == 0) m->active--;
    PetscCallMPI(MPI_Isend(a, (int)(1 + c), MPI_LONG_LONG, src, TAG_ASSIGN, ctx->comm, &f->sent[src]));
    m->sum->requests++;
    m->sum->serve_seconds += cs_wtime() - t0;
    m->sum->serve_cpu_seconds += cpu_seconds() - c0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode master(const ParCtx *ctx, Farm *f, Master *m, PetscInt *nrows)
{
  const FarmSpec *s = f->spec;
  PetscInt *rows, n = 0, next = 0;
  double *out;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(f->chunk_max, &rows, f->chunk_max * s->nout, &out));
  PetscBool compute = s->master_rows == FARM_MASTER_COMPUTE ||
                      (s->master_rows == FARM_MASTER_AUTO && ctx->size < FARM_SERVE_ONLY_FROM) || ctx->size == 1;
  m->active = ctx->size - 1;
  for (;;) {
    PetscCall(serve(ctx, f, m, PETSC_FALSE));
    if (!compute && m->active > 0) {
      PetscCall(serve(ctx, f, m, PETSC_TRUE));
    } else if (next < n) { /* one of our own rows, then look at the mailbox again */
      PetscCall(compute_row(f, rows[next], out + next * s->nout));
      next++;
      if (next == n) {
        PetscCall(store(f, n, rows, out));
        count_statuses(s, m, n, out, s->nout);
        *nrows += n;
      }
    } else if (m->pos < m->npending) {
      /* Rank 0 is interrupted by serving, so it keeps its own chunks small. */
      n = PetscMin(farm_chunk(ctx, s, m->npending - m->pos), PetscMax(1, f->chunk_max / 4));
      for (PetscInt i = 0; i < n; i++) rows[i] = m->pending[m->pos + i];
      m->pos += n;
      next = 0;
    } else if (m->active > 0) {
      PetscCall(serve(ctx, f, m, PETSC_TRUE));
    } else
      break;
    PetscCall(progress(ctx, s, m, PETSC_FALSE));
  }
  PetscCall(PetscFree2(rows, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode farm_run(const ParCtx *ctx, const FarmSpec *spec, PetscInt npending, const PetscInt *pending,
                        PetscInt ntotal, PetscInt ndone, FarmSummary *sum)
{
  Farm f = {.spec = spec};
  Master m = {0};
  PetscInt mine = 0;
  double t0 = cs_wtime();
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(sum, sizeof(*sum)));
  f.chunk_max = spec->chunk > 0 ? spec->chunk : 256;
  PetscCall(par_log_event("farm_compute", &f.ev_compute));
  PetscCall(par_log_event("farm_store", &f.ev_store));
  PetscInt nbuf = ctx->rank == 0 ? ctx->size : 1;
  PetscCall(PetscMalloc3(msg_len(spec, f.chunk_max), &f.msg, nbuf * (1 + f.chunk_max), &f.assign, nbuf, &f.sent));
  for (PetscInt r = 0; r < nbuf; r++) f.sent[r] = MPI_REQUEST_NULL;
  if (ctx->rank == 0) {
    m.npending = npending;
    m.pending = pending;
    m.sum = sum;
    m.done = ndone;
    m.ntotal = ntotal;
    par_progress_start(&m.prog, spec->what, ndone, spec->progress_every);
    PetscCall(master(ctx, &f, &m, &mine));
    PetscCall(progress(ctx, spec, &m, PETSC_TRUE));
  } else
    PetscCall(worker(ctx, &f, &mine));
  if (ctx->rank == 0) PetscCallMPI(MPI_Waitall(ctx->size, f.sent, MPI_STATUSES_IGNORE));
  PetscCall(PetscFree3(f.msg, f.assign, f.sent));
  sum->seconds = cs_wtime() - t0;
  PetscCallMPI(MPI_Allreduce(&mine, &sum->rows_per_rank_max, 1, MPIU_INT, MPI_MAX, ctx->comm));
  PetscCallMPI(MPI_Allreduce(&mine, &sum->rows_per_rank_min, 1, MPIU_INT, MPI_MIN, ctx->comm));
  PetscCallMPI(MPI_Bcast(sum->count, FARM_MAX_STATUS, MPIU_INT, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(&sum->requests, 1, MPIU_INT, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(&sum->serve_seconds, 2, MPI_DOUBLE, 0, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}
