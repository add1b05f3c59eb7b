"""PBRS policy invariance on random tabular MDPs (value iteration), and the naive-progress 'hover' trap."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_reward.shaping import terms


def value_iteration(P, R, done, gamma, iters=2000, tol=1e-10):
    """P, R: (S, A, S'); done: (S, A, S') bool (transition ends the episode). Returns Q (S, A)."""
    S, A, _ = P.shape
    Q = np.zeros((S, A))
    for _ in range(iters):
        V = Q.max(1)
        Qn = (P * (R + gamma * np.where(done, 0.0, V[None, None, :]))).sum(-1)
        if np.abs(Qn - Q).max() < tol:
            return Qn
        Q = Qn
    return Q


def shaped_R(R, done, phi, gamma, kind):
    """Shaped reward tensor built with the library's term functions (terminal convention included)."""
    S, A, _ = R.shape
    phi_s = np.broadcast_to(phi[:, None, None], R.shape).reshape(-1)
    phi_n = np.broadcast_to(phi[None, None, :], R.shape).reshape(-1)
    if kind == "pbrs":
        F = terms.pbrs(phi_s, phi_n, gamma, terminated=done.reshape(-1)).double().numpy()
    else:
        F = terms.naive(phi_n).double().numpy()
    return R + F.reshape(R.shape)


@st.composite
def mdps(draw):
    S = draw(st.integers(2, 6))
    A = draw(st.integers(2, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    gamma = draw(st.floats(0.5, 0.95))
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.normal(size=(S, A, S))
    done = rng.random((S, A, S)) < 0.2
    phi = rng.uniform(-2, 2, size=S) * draw(st.sampled_from([0.0, 1.0, 10.0]))
    return P, R, done, gamma, phi


@settings(max_examples=60, deadline=None)
@given(mdps())
def test_pbrs_keeps_optimal_policy_for_any_potential(mdp):
    P, R, done, gamma, phi = mdp
    Q = value_iteration(P, R, done, gamma)
    Qs = value_iteration(P, shaped_R(R, done, phi, gamma, "pbrs"), done, gamma)
    # Ng et al.: Q'(s, a) = Q(s, a) - Phi(s) exactly, hence the same greedy policy (ties aside)
    np.testing.assert_allclose(Qs, Q - phi[:, None], atol=1e-4)  # terms are float32
    gap = np.sort(Q, 1)[:, -1] - np.sort(Q, 1)[:, -2]
    clear = gap > 1e-3
    assert (Q.argmax(1)[clear] == Qs.argmax(1)[clear]).all()


def hover_mdp():
    """States: 0 = far, 1 = near goal (Phi 0.9), 2 = goal (absorbing, success). Actions: 0 = stay, 1 = advance.

    Task reward: 1 on reaching the goal (terminated). Unshaped optimum: advance everywhere.
    """
    S, A = 3, 2
    P = np.zeros((S, A, S))
    P[0, 0, 0] = P[1, 0, 1] = 1.0  # stay
    P[0, 1, 1] = P[1, 1, 2] = 1.0  # advance
    P[2, :, 2] = 1.0
    R = np.zeros((S, A, S))
    R[1, 1, 2] = 1.0
    done = np.zeros((S, A, S), bool)
    done[1, 1, 2] = True
    done[2, :, :] = True
    phi = np.array([0.0, 0.9, 1.0])
    return P, R, done, phi


def test_naive_progress_reward_makes_hovering_optimal_but_pbrs_does_not():
    P, R, done, phi = hover_mdp()
    gamma = 0.95
    pi = value_iteration(P, R, done, gamma).argmax(1)
    pi_pbrs = value_iteration(P, shaped_R(R, done, phi, gamma, "pbrs"), done, gamma).argmax(1)
    pi_naive = value_iteration(P, shaped_R(R, done, phi, gamma, "naive"), done, gamma).argmax(1)
    assert pi[1] == 1 and pi_pbrs[1] == 1  # finish the task
    assert pi_naive[1] == 0  # the semantic trap: hovering near the goal earns 0.9 / (1 - gamma) = 18 > 2
    assert pi_pbrs[0] == pi[0] == 1
