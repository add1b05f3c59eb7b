"""A small Soft Actor-Critic (Haarnoja et al. 2018) and replay buffer for online fine-tuning over ROS 2.

Own implementation rather than stable-baselines3's ``SAC``: SB3's ``learn()`` owns the environment loop (it
would have to run inside a gymnasium env that blocks on ROS callbacks), and its checkpoints/replay buffers are
pickles. Here the ROS node owns the loop (updates run between episodes while the arm holds) and everything on
disk is tensors (``torch.load(weights_only=True)``) or a plain ``.npz`` (``allow_pickle=False``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robo_reward.data.atomic import atomic_path

logger = logging.getLogger(__name__)


def resolve_device(device: str) -> torch.device:
    """"auto" -> cuda when available, else cpu."""
    return torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                        ("cpu" if device == "auto" else device))


class ReplayBuffer:
    """Ring buffer of transitions (obs (D,), act (A,), rew, next_obs (D,), done) as float32 arrays."""

    FIELDS = ("obs", "act", "rew", "next_obs", "done")

    def __init__(self, capacity: int, obs_dim: int, act_dim: int) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be >= 1, got {capacity}")
        self.capacity, self.obs_dim, self.act_dim = int(capacity), int(obs_dim), int(act_dim)
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.act = np.zeros((capacity, act_dim), np.float32)
        self.rew = np.zeros(capacity, np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.done = np.zeros(capacity, np.float32)
        self.size = 0
        self.pos = 0

    def add(self, obs: np.ndarray, act: np.ndarray, rew: float, next_obs: np.ndarray, done: bool) -> None:
        i = self.pos
        self.obs[i], self.act[i], self.rew[i], self.next_obs[i], self.done[i] = obs, act, rew, next_obs, float(done)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        return {f: getattr(self, f)[idx] for f in self.FIELDS}

    def save(self, path: str | Path) -> None:
        """Atomic ``.npz`` write (tmp file in the same directory, fsync, os.replace)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
            np.savez(f, size=self.size, pos=self.pos, capacity=self.capacity,
                     **{k: getattr(self, k)[: self.size] for k in self.FIELDS})

    @classmethod
    def load(cls, path: str | Path, capacity: int | None = None) -> "ReplayBuffer":
        with np.load(path, allow_pickle=False) as z:
            obs = z["obs"]
            buf = cls(int(capacity or z["capacity"]), obs.shape[1], z["act"].shape[1])
            n = int(z["size"])
            if n > buf.capacity:
                raise ValueError(f"{path} holds {n} transitions, more than the capacity {buf.capacity}")
            for k in cls.FIELDS:
                getattr(buf, k)[:n] = z[k]
            buf.size, buf.pos = n, int(z["pos"]) % buf.capacity
        return buf


def _mlp(inp: int, out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, out))


class SAC:
    """SAC with twin Q, target networks and automatic entropy tuning; actions in [-1, 1]^A."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 128, lr: float = 3e-4, gamma: float = 0.99,
                 tau: float = 0.005, device: str = "auto", seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.device = resolve_device(device)
        self.obs_dim, self.act_dim, self.gamma, self.tau = obs_dim, act_dim, gamma, tau
        self.actor = _mlp(obs_dim, 2 * act_dim, hidden).to(self.device)
        self.q1, self.q2 = (_mlp(obs_dim + act_dim, 1, hidden).to(self.device) for _ in range(2))
        self.q1_t, self.q2_t = (_mlp(obs_dim + act_dim, 1, hidden).to(self.device) for _ in range(2))
        self.q1_t.load_state_dict(self.q1.state_dict())
        self.q2_t.load_state_dict(self.q2.state_dict())
        self.log_alpha = torch.zeros(1, device=self.device, requires_grad=True)
        self.target_entropy = -float(act_dim)
        self.opt_actor = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.opt_q = torch.optim.Adam(list(self.q1.parameters()) + list(self.q2.parameters()), lr=lr)
        self.opt_alpha = torch.optim.Adam([self.log_alpha], lr=lr)
        self.updates = 0

    def _pi(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sampled action (B, A), its log-prob (B,), and the deterministic action (B, A)."""
        mu, log_std = self.actor(obs).chunk(2, dim=-1)
        std = log_std.clamp(-5.0, 2.0).exp()
        u = mu + std * torch.randn_like(mu)
        a = torch.tanh(u)
        logp = (torch.distributions.Normal(mu, std).log_prob(u) - torch.log(1 - a.pow(2) + 1e-6)).sum(-1)
        return a, logp, torch.tanh(mu)

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """obs (D,) -> action (A,) in [-1, 1]."""
        o = torch.as_tensor(obs, dtype=torch.float32, device=self.device)[None]
        a, _, mean = self._pi(o)
        return (mean if deterministic else a)[0].cpu().numpy()

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One gradient step on a batch from :meth:`ReplayBuffer.sample`; returns the losses."""
        t = {k: torch.as_tensor(v, dtype=torch.float32, device=self.device) for k, v in batch.items()}
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            a2, logp2, _ = self._pi(t["next_obs"])
            x2 = torch.cat([t["next_obs"], a2], -1)
            q_next = torch.min(self.q1_t(x2), self.q2_t(x2)).squeeze(-1) - alpha * logp2
            target = t["rew"] + self.gamma * (1.0 - t["done"]) * q_next
        x = torch.cat([t["obs"], t["act"]], -1)
        q_loss = ((self.q1(x).squeeze(-1) - target) ** 2).mean() + ((self.q2(x).squeeze(-1) - target) ** 2).mean()
        self.opt_q.zero_grad()
        q_loss.backward()
        self.opt_q.step()
        a, logp, _ = self._pi(t["obs"])
        xa = torch.cat([t["obs"], a], -1)
        pi_loss = (alpha * logp - torch.min(self.q1(xa), self.q2(xa)).squeeze(-1)).mean()
        self.opt_actor.zero_grad()
        pi_loss.backward()
        self.opt_actor.step()
        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.opt_alpha.zero_grad()
        alpha_loss.backward()
        self.opt_alpha.step()
        with torch.no_grad():
            for net, tgt in ((self.q1, self.q1_t), (self.q2, self.q2_t)):
                for p, pt in zip(net.parameters(), tgt.parameters()):
                    pt.mul_(1 - self.tau).add_(self.tau * p)
        self.updates += 1
        return {"loss/q": q_loss.item(), "loss/pi": pi_loss.item(), "alpha": alpha.item()}

    def state_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor.state_dict(), "q1": self.q1.state_dict(), "q2": self.q2.state_dict(),
            "q1_t": self.q1_t.state_dict(), "q2_t": self.q2_t.state_dict(), "log_alpha": self.log_alpha.detach(),
            "opt_actor": self.opt_actor.state_dict(), "opt_q": self.opt_q.state_dict(),
            "opt_alpha": self.opt_alpha.state_dict(), "updates": self.updates,
            "dims": torch.tensor([self.obs_dim, self.act_dim]),
        }

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        dims = tuple(int(x) for x in sd["dims"])
        if dims != (self.obs_dim, self.act_dim):
            raise ValueError(f"checkpoint is for obs/act dims {dims}, this agent has {(self.obs_dim, self.act_dim)}")
        for k in ("actor", "q1", "q2", "q1_t", "q2_t"):
            getattr(self, k).load_state_dict(sd[k])
        with torch.no_grad():
            self.log_alpha.copy_(sd["log_alpha"])
        for k in ("opt_actor", "opt_q", "opt_alpha"):
            getattr(self, k).load_state_dict(sd[k])
        self.updates = int(sd["updates"])
