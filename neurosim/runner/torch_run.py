"""Training of torch networks (rate MLP, rate RNN, surrogate-gradient SNN) for one run.

:func:`prepare` builds the task, model, optimizer and scheduler from a resolved
config (so that bad values fail before any directory exists); :func:`train` runs
the epochs with checkpoints, snapshots and metrics in a :class:`RunDir`.

Resuming is exact: the batch order of epoch ``e`` is drawn from a generator
seeded by ``(seed, e)``, generated trials from ``(seed, e, batch)``, and the
checkpoint holds the model, the optimizer (its ``state_dict`` includes
``LogGridMadam``'s integer levels and rounding seed), the scheduler, every
``torch.Generator`` owned by the model or the optimizer, torch's global RNG and
the position inside the epoch. Same seed and thread count give the same numbers.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from neurosim import snapshot as snap
from neurosim.runner.config import CLASSIFICATION_TASKS, ConfigError
from neurosim.runner.memory import BYTES_PER_WEIGHT, refuse_if_too_big
from neurosim.runner.rundir import RunDir
from neurosim.runner.schema import SEQUENCE_NETWORKS


class Interrupted(Exception):
    """Raised after a checkpoint was saved because the user pressed Ctrl-C."""


@dataclass
class Setup:
    """Everything a torch run needs, built from the config."""

    config: dict[str, Any]
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    device: torch.device
    data: Any = None  # ClassificationData
    task: Any = None  # CognitiveTask
    curriculum: tuple[int, Any] | None = None  # (epochs, the easier task trained first)
    generators: dict[str, torch.Generator] = field(default_factory=dict)


def _seed_from(*parts: int) -> int:
    """A 63-bit seed from integers (numpy's SeedSequence mixing)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (error if absent) or ``auto`` (cuda when available)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda requested but torch sees no CUDA device (use cpu or auto)")
    return torch.device(name)


def _keyed(key: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; a ValueError/TypeError from it becomes a ConfigError prefixed with ``key``."""
    try:
        return fn()
    except ConfigError:
        raise
    except (ValueError, TypeError, FileNotFoundError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(key, msg) from None


def _check_memory(kind: str, n_in: int, n_out: int, net: dict[str, Any], batch: int) -> None:
    """Refuse, before anything is allocated, a network whose training would not fit in memory."""
    from neurosim.models import BUILD_DEFAULTS

    recurrent = kind in SEQUENCE_NETWORKS
    widths = [net["n_rec"]] if recurrent else list(net.get("hidden", BUILD_DEFAULTS[kind]["hidden"]))
    dims = [2 * n_in if recurrent else n_in, *widths, n_out]  # (an srnn's on/off or an rnn's relay inputs)
    weights = sum(a * b + b for a, b in itertools.pairwise(dims))
    if recurrent:
        weights += net["n_rec"] ** 2
    need = BYTES_PER_WEIGHT * weights + 4 * batch * sum(dims) * net.get("steps", 1)
    refuse_if_too_big(need, f"{weights:.3g} weights (weights, gradients, optimizer state)")


def _task_dt(given: Any, net: dict[str, Any]) -> float:
    """The task's time step in ms: the network's ``dt`` (s) converted once; a ``task.params.dt`` must agree."""
    dt_ms = net["dt"] * 1000.0
    if given is not None and not math.isclose(given, dt_ms):
        raise ConfigError("task.params.dt", f"must equal network.dt in ms ({dt_ms:g}), got {given!r}")
    return dt_ms


def prepare(config: dict[str, Any]) -> Setup:
    """Build task, model, optimizer and scheduler; raise :class:`ConfigError` on bad values."""
    from neurosim import models
    from neurosim.tasks import load_digits_split, load_npz_classification, load_npz_sequences, make_task

    device = resolve_device(config["device"])
    seed = config["seed"]
    net = dict(config["network"])
    kind = net.pop("kind")
    task_cfg = dict(config["task"])
    task_name = task_cfg.pop("name")
    data = task = None
    curriculum = None
    if task_name == "npz" and kind in SEQUENCE_NETWORKS:
        path = task_cfg.pop("path")
        task_cfg.pop("sha256", None)
        task = _keyed("task.path", lambda: load_npz_sequences(path, seed=seed, **task_cfg))
        n_in, n_out = task.n_in, task.n_out
    elif task_name == "neurogym":
        from neurosim.tasks.neurogym_task import NeurogymTask

        kwargs = dict(task_cfg.pop("params", {}))
        dt_ms = _task_dt(kwargs.pop("dt", None), net)
        task = _keyed("task", lambda: NeurogymTask(dt=dt_ms, kwargs=kwargs, **task_cfg))
        n_in, n_out = task.n_in, task.n_out
    elif task_name in CLASSIFICATION_TASKS:
        if task_name == "digits":
            data = _keyed("task", lambda: load_digits_split(seed=seed, **task_cfg))
        else:
            path = task_cfg.pop("path")
            task_cfg.pop("sha256", None)  # the run key of the file's content, not a loader option
            data = _keyed("task.path", lambda: load_npz_classification(path, seed=seed, **task_cfg))
        n_in, n_out = data.n_features, data.n_classes
        if kind == "snn" and net.get("encoding", "current") != "current":
            lo, hi = float(data.X_train.min()), float(data.X_train.max())
            if lo < 0.0 or hi > 1.0:
                raise ConfigError("network.encoding", f"{net['encoding']!r} spikes need features in [0, 1], "
                                                      f"the data span [{lo:g}, {hi:g}]; scale them first")
    else:
        params = dict(task_cfg.get("params", {}))
        params["dt"] = _task_dt(params.get("dt"), net)
        task = _keyed("task.params", lambda: make_task(task_name, **params))
        n_in, n_out = task.n_in, task.n_out
        if task_cfg.get("curriculum"):
            cur = task_cfg["curriculum"]
            if "dt" in cur["params"]:
                raise ConfigError("task.curriculum.params.dt", "the curriculum keeps the task's dt (network.dt)")
            easy = _keyed("task.curriculum.params", lambda: make_task(task_name, **{**params, **cur["params"]}))
            if (easy.n_in, easy.n_out) != (n_in, n_out):
                raise ConfigError("task.curriculum.params", "must keep the task's inputs and outputs")
            curriculum = (cur["epochs"], easy)

    _check_memory(kind, n_in, n_out, net, config["train"].get("batch_size", 1))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = _keyed("network", lambda: models.build(kind, n_in, n_out, generator=gen, **net))
    model = model.to(device)
    if isinstance(model, models.OwnNoise):
        model.noise_generator(device)  # exists now, so a resumed run restores its state
    rule_gen = torch.Generator().manual_seed(_seed_from(seed, 1))
    optimizer = _keyed("rule", lambda: make_optimizer(config["rule"], model, rule_gen))
    scheduler = None
    if config["schedule"]["name"] != "none":
        cls = getattr(torch.optim.lr_scheduler, config["schedule"]["name"])
        scheduler = _keyed("schedule.params", lambda: cls(optimizer, **config["schedule"]["params"]))
    return Setup(config=config, model=model, optimizer=optimizer, scheduler=scheduler, device=device,
                 data=data, task=task, curriculum=curriculum, generators={"init": gen, "rule": rule_gen})


def load_run(path: str | os.PathLike[str], *, device: str | None = None) -> Setup:
    """The task, model and optimizer of a run directory, with the checkpoint's state loaded.

    The model is in ``eval()`` mode, at the state of the last checkpoint (the
    end of training for a finished run). ``device`` overrides the config's.
    Raises ``FileNotFoundError`` naming the directory when it has no checkpoint.

        setup = load_run("runs/digits-mlp-1a2b3c4d5e")
        setup.model(torch.from_numpy(setup.data.X_test).float()).argmax(1)
    """
    rundir = RunDir(path)
    config = rundir.config()
    if device is not None:
        config = {**config, "device": device}
    ckpt = rundir.load_checkpoint()
    if ckpt is None:
        raise FileNotFoundError(f"{rundir.path}: no checkpoint.pt (was the run started?)")
    setup = prepare(config)
    _restore(setup, ckpt, rundir.checkpoint)
    setup.model.eval()
    return setup


def _restore(setup: Setup, ckpt: dict[str, Any], path: Any) -> None:
    """Load a checkpoint's model and optimizer state; :class:`RunError` if it is not this run's."""
    from neurosim.runner.rundir import RunError

    try:
        setup.model.load_state_dict(ckpt["model"])
        setup.optimizer.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunError(f"{path}: does not match this run's network or optimizer ({reason[:160]})") from None


def make_optimizer(rule: dict[str, Any], model: nn.Module, generator: torch.Generator
                   ) -> torch.optim.Optimizer:
    """The optimizer a ``[rule]`` table describes (:data:`neurosim.rules.registry.TORCH_RULES`),
    biases on an additive rule where the rule has one."""
    from neurosim.rules.registry import TORCH_RULES

    if rule["name"] not in TORCH_RULES:
        raise ConfigError("rule.name", f"{rule['name']!r} is not a torch rule")
    return TORCH_RULES[rule["name"]].build(model, rule, generator, bias_lr=rule.get("bias_lr"))


# ----------------------------------------------------------------------------- generator state
def _generators(setup: Setup) -> dict[str, torch.Generator]:
    """Every torch.Generator reachable from the model's modules and the optimizer."""
    found: dict[str, torch.Generator] = dict(setup.generators)
    for mname, module in setup.model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, torch.Generator):
                found[f"model.{mname}.{attr}"] = value
    for attr, value in vars(setup.optimizer).items():
        if isinstance(value, torch.Generator):
            found[f"optimizer.{attr}"] = value
    return found


def _rng_state(setup: Setup) -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "generators": {k: g.get_state() for k, g in _generators(setup).items()},
    }


def _set_rng_state(setup: Setup, state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    gens = _generators(setup)
    for k, s in state["generators"].items():
        if k in gens:
            gens[k].set_state(s)


# ----------------------------------------------------------------------------- the loop
class _StopFlag:
    """SIGINT sets a flag; the loop checks it between optimizer steps (never mid-step)."""

    def __init__(self) -> None:
        self.set = False
        self._old: Any = None

    def __enter__(self) -> _StopFlag:
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread (e.g. a Dask worker thread)
            self._old = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.set:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def training_batches(setup: Setup, epoch: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """The training batches of ``epoch``, in order: the same for every run of the same seed
    (cognitive tasks: drawn from ``[seed, 3, epoch, batch]``; data sets: a permutation
    drawn from ``(seed, 2, epoch)``)."""
    cfg, seed = setup.config, setup.config["seed"]
    bs = cfg["train"]["batch_size"]
    if setup.data is not None:
        X = torch.from_numpy(setup.data.X_train)
        y = torch.from_numpy(setup.data.y_train)
        g = torch.Generator().manual_seed(_seed_from(seed, 2, epoch))
        for idx in torch.randperm(len(X), generator=g).split(bs):
            yield X[idx], y[idx]
    else:
        task = setup.task
        if setup.curriculum is not None and epoch < setup.curriculum[0]:
            task = setup.curriculum[1]
        for b in range(cfg["train"]["batches_per_epoch"]):
            rng = np.random.default_rng([seed, 3, epoch, b])
            inputs, targets, mask = task.batch(bs, rng)
            yield torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask)


def _loss(setup: Setup, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    batch = tuple(t.to(setup.device) for t in batch)
    if setup.data is not None:
        x, y = batch
        return nn.functional.cross_entropy(setup.model(x), y)
    inputs, targets, mask = batch
    return _masked_loss(setup.model(inputs), targets, mask)


def _masked_loss(out: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per time step, weighted by the task's mask."""
    ce = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1), reduction="none")
    m = mask.reshape(-1)
    return (ce * m).sum() / m.sum()


def _eval_forward(setup: Setup, inputs: torch.Tensor, key: int) -> torch.Tensor:
    """The model's outputs for evaluation; a noisy model draws its noise from a generator fixed by
    ``(seed, key)``, so the metrics do not depend on how far training advanced its own noise."""
    import inspect

    if "generator" in inspect.signature(setup.model.forward).parameters:
        gen = torch.Generator(device=inputs.device).manual_seed(_seed_from(setup.config["seed"], 7, key))
        return setup.model(inputs, generator=gen)
    return setup.model(inputs)


def _clip_gradients(model: nn.Module, max_norm: float) -> None:
    """Scale all gradients down to a global L2 norm of ``max_norm`` where it is larger.

    A non-finite norm leaves the gradients as they are, so that the rule's own
    handling of non-finite gradients (skip those entries, count them) still
    applies, rather than one NaN entry turning every gradient into NaN.
    """
    params = [p for p in model.parameters() if p.grad is not None]
    if not params:
        return
    norm = nn.utils.get_total_norm([p.grad for p in params])
    if bool(torch.isfinite(norm)):
        nn.utils.clip_grads_with_norm_(params, max_norm, norm)


def _shuffle_gradients(setup: Setup, epoch: int, b: int) -> None:
    """Control condition: permute each synapse gradient across its synapses."""
    g = torch.Generator().manual_seed(_seed_from(setup.config["seed"], 4, epoch, b))
    for group in setup.optimizer.param_groups:
        if group.get("rule") == "additive":
            continue
        for p in group["params"]:
            if p.grad is not None:
                flat = p.grad.reshape(-1)
                perm = torch.randperm(flat.numel(), generator=g).to(flat.device)
                p.grad.copy_(flat[perm].reshape(p.grad.shape))


def train_step(setup: Setup, batch: tuple[torch.Tensor, ...], epoch: int, b: int, *,
               inspect: Callable[[nn.Module], None] | None = None) -> torch.Tensor:
    """One optimizer step on ``batch``, the ``b``-th of ``epoch``; returns the (detached) loss.

    The gradient is computed, then clipped (``train.clip_grad_norm``), then, in the
    shuffled-gradient control (``rule.shuffle_gradient``), permuted across each
    parameter's synapses with a generator seeded from ``(seed, epoch, b)``, and the
    optimizer steps. ``inspect(model)``, if given, sees the model's gradient as the
    loss gave it: before clipping and shuffling.
    """
    cfg = setup.config
    setup.optimizer.zero_grad(set_to_none=True)
    loss = _loss(setup, batch)
    loss.backward()
    if inspect is not None:
        inspect(setup.model)
    clip = cfg["train"].get("clip_grad_norm")
    if clip is not None:
        _clip_gradients(setup.model, clip)
    if cfg["rule"].get("shuffle_gradient", False):
        _shuffle_gradients(setup, epoch, b)
    setup.optimizer.step()
    return loss.detach()


@torch.no_grad()
def evaluate(setup: Setup) -> dict[str, float]:
    """Validation and test loss and accuracy (decision accuracy for cognitive tasks)."""
    from neurosim.tasks import decision_accuracy, decision_choices, psychometric

    model = setup.model
    was_training = model.training
    model.eval()
    out: dict[str, float] = {}
    try:
        if setup.data is not None:
            for part in ("val", "test"):
                X = torch.from_numpy(getattr(setup.data, f"X_{part}")).to(setup.device)
                y = torch.from_numpy(getattr(setup.data, f"y_{part}")).to(setup.device)
                if len(y) == 0:
                    continue
                logits = model(X)
                out[f"{part}_loss"] = float(nn.functional.cross_entropy(logits, y))
                out[f"{part}_accuracy"] = float((logits.argmax(1) == y).float().mean())
        else:
            n = setup.config["train"]["eval_trials"]
            for part, key in (("val", 5), ("test", 6)):
                rng = np.random.default_rng([setup.config["seed"], key])
                fixed = getattr(setup.task, "eval_batch", None)  # fixed data: the whole part
                inputs, targets, mask, info = fixed(part, n, rng) if fixed else setup.task.batch(
                    n, rng, return_info=True)
                dev = setup.device
                logits = _eval_forward(setup, torch.from_numpy(inputs).to(dev), key)
                out[f"{part}_loss"] = float(_masked_loss(logits, torch.from_numpy(targets).to(dev),
                                                         torch.from_numpy(mask).to(dev)))
                outputs = logits.cpu().numpy()
                out[f"{part}_accuracy"] = decision_accuracy(outputs, targets, mask, info)
                if part == "test" and "coherence" in info:
                    choices = decision_choices(outputs, targets, mask)
                    coh = np.asarray(info["coherence"])
                    top = np.sort(np.unique(coh))[-2:]
                    sel = np.isin(coh, top)
                    out["test_accuracy_top2_coherence"] = float(np.mean(choices[sel] == info["choice"][sel]))
                    if "signed_coherence" in info:
                        sc, p, _ = psychometric(choices, info)
                        out["psychometric"] = {f"{c:g}": float(v) for c, v in zip(sc, p, strict=True)}
    finally:
        model.train(was_training)
    return out


def _snapshot(setup: Setup, rundir: RunDir, epoch: int, step: int) -> None:
    projections = snap.from_module(setup.model, setup.optimizer)
    meta = {"epoch": epoch, "step": step, "time": float(epoch), "time_unit": "epoch",
            "rule": setup.config["rule"]["name"],
            "seed": setup.config["seed"], "network": setup.config["network"]["kind"],
            "dale": setup.config["network"].get("dale", True)}
    if "rounding" in setup.config["rule"]:
        meta["rounding"] = setup.config["rule"]["rounding"]
    snap.save(rundir.snapshots / f"epoch-{epoch:05d}.npz", projections, meta)


def _maybe_die(epoch: int, batch: int) -> None:
    """Test hook: ``NEUROSIM_TEST_KILL_AT="epoch:batch"`` SIGKILLs this process there.

    With ``NEUROSIM_TEST_KILL_ONCE=<path>`` only the first process to get there dies
    (it creates ``path`` first), as a worker killed once in the middle of a sweep.
    """
    at = os.environ.get("NEUROSIM_TEST_KILL_AT")
    if at and at == f"{epoch}:{batch}":
        once = os.environ.get("NEUROSIM_TEST_KILL_ONCE")
        if once:
            try:
                os.close(os.open(once, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
        os.kill(os.getpid(), signal.SIGKILL)


def _divergence(setup: Setup, train_loss: float) -> str | None:
    """Why training must stop, or ``None``: non-finite weights, else a non-finite training loss.

    A large but finite loss is not divergence; NaN or inf weights are (the network can
    no longer compute anything), and so is a NaN or inf loss (its gradients carry no
    information; the gridded rules skip such entries, so their weights stay finite).
    """
    if not all(bool(torch.isfinite(p).all()) for p in setup.model.parameters()):
        return "non-finite weights"
    if not math.isfinite(train_loss):
        return "non-finite loss"
    return None


def train(setup: Setup, rundir: RunDir, *, progress: bool = True, bad_checkpoint: str = "error"
          ) -> dict[str, Any]:
    """Run (or resume) the epochs; return the final metrics.

    A run that diverges (:func:`_divergence`) stops at the end of that epoch with
    ``diverged = 1``, ``diverged_reason`` and the epoch in its final metrics. Every
    row records ``nonfinite_grads``, the non-finite gradient entries the optimizer
    skipped so far (neurosim's multiplicative and gridded rules), when it counts them.

    Raises :class:`Interrupted` after saving a checkpoint when SIGINT arrives.
    """
    from tqdm.auto import tqdm

    from neurosim import traces as tr_mod

    cfg = setup.config
    tr = cfg["train"]
    epochs = tr["epochs"]
    rows: list[dict[str, Any]] = []
    start_epoch, start_batch, loss_sum, n_batches, step = 0, 0, 0.0, 0, 0
    tracer = (tr_mod.TraceRecorder(setup.model, setup.optimizer, tr["trace_synapses"], cfg["seed"])
              if tr["trace_synapses"] else None)
    ckpt = rundir.load_checkpoint(bad_checkpoint)
    if ckpt is not None:
        _restore(setup, ckpt, rundir.checkpoint)
        if setup.scheduler is not None and ckpt.get("scheduler") is not None:
            setup.scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_state(setup, ckpt["rng"])
        start_epoch, start_batch = ckpt["epoch"], ckpt["batch"]
        loss_sum, n_batches = ckpt["loss_sum"], ckpt["n_batches"]
        rows = ckpt["rows"]
        step = ckpt.get("step", 0)
        if tracer is not None and rundir.traces.exists():
            tracer.restore(tr_mod.load(rundir.traces), step + 1)
        rundir.log(f"resumed from checkpoint at epoch {start_epoch}, batch {start_batch}")
    else:
        _snapshot(setup, rundir, 0, 0)
        rows.append({"epoch": 0, **evaluate(setup)})
        if tracer is not None:
            tracer.record(0)

    def checkpoint(epoch: int, batch: int) -> None:
        if tracer is not None:  # first: a kill between the two leaves traces ahead, truncated on resume
            tr_mod.save(rundir.traces, tracer.traces())
        rundir.save_checkpoint({
            "model": setup.model.state_dict(), "optimizer": setup.optimizer.state_dict(),
            "scheduler": setup.scheduler.state_dict() if setup.scheduler is not None else None,
            "rng": _rng_state(setup), "epoch": epoch, "batch": batch, "loss_sum": loss_sum,
            "n_batches": n_batches, "rows": rows, "step": step,
        })

    t0 = time.perf_counter()
    bar = tqdm(total=epochs, initial=start_epoch, desc=cfg["name"], disable=not progress, leave=False)
    with _StopFlag() as stop:
        for epoch in range(start_epoch, epochs):
            setup.model.train()
            for b, batch in enumerate(training_batches(setup, epoch)):
                if epoch == start_epoch and b < start_batch:
                    continue
                _maybe_die(epoch, b)
                loss = train_step(setup, batch, epoch, b)
                step += 1
                if tracer is not None:
                    tracer.record(step)
                loss_sum += loss.item()
                n_batches += 1
                if stop.set:
                    checkpoint(epoch, b + 1)
                    where = f"epoch {epoch + 1} of {epochs}, after batch {b + 1}"
                    rundir.log(f"interrupted at {where}; checkpoint saved")
                    raise Interrupted(f"interrupted at {where}; checkpoint saved in {rundir.path}")
            lr = setup.optimizer.param_groups[0]["lr"]
            if setup.scheduler is not None:
                setup.scheduler.step()
            done = epoch + 1
            train_loss = loss_sum / max(n_batches, 1)
            row = {"epoch": done, "train_loss": train_loss, "lr": lr, **evaluate(setup)}
            if hasattr(setup.optimizer, "nonfinite_count"):
                row["nonfinite_grads"] = setup.optimizer.nonfinite_count()
            reason = _divergence(setup, train_loss)
            if reason:  # stop, record it, keep the last good snapshot
                row["diverged"] = 1
                row["diverged_reason"] = reason
                rows.append(row)
                rundir.write_metrics(rows)
                rundir.log(f"diverged at epoch {done} ({reason}); training stopped")
                break
            rows.append(row)
            loss_sum, n_batches = 0.0, 0
            start_batch = 0
            if done % tr["snapshot_every"] == 0 or done == epochs:
                _snapshot(setup, rundir, done, step)
            rundir.write_metrics(rows)
            if done % tr["checkpoint_every"] == 0 or done == epochs:
                checkpoint(done, 0)
            bar.update(1)
            bar.set_postfix(val_acc=f"{row.get('val_accuracy', float('nan')):.3f}")
    bar.close()
    rundir.write_metrics(rows)
    if tracer is not None:
        tr_mod.save(rundir.traces, tracer.traces())
    rundir.log(f"trained {epochs - start_epoch} epochs in {time.perf_counter() - t0:.1f} s")
    final = {k: v for k, v in rows[-1].items() if k != "epoch"}
    final["epochs"] = rows[-1]["epoch"]
    final.setdefault("diverged", 0)
    return final


