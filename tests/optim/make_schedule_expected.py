# Computes the reference learning rates of tests/optim/schedule_test.cpp with PyTorch's schedulers.
# Not run by CI: .venv/bin/python tests/optim/make_schedule_expected.py
import torch
def run(make, steps, lr=0.1):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    s = make(opt)
    out = []
    for i in range(steps):
        out.append(opt.param_groups[0]['lr'])
        opt.step(); s.step()
    return out
# one-cycle over 20 steps, max_lr 0.1
oc = run(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20, pct_start=0.3, div_factor=25, final_div_factor=1e4, cycle_momentum=False), 20)
cos = run(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.001), 20)
print("one_cycle", [float('%.10g' % v) for v in oc])
print("cosine", [float('%.10g' % v) for v in cos])
# per-epoch schedulers with 1 step/epoch
st = run(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 10)
ms = run(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2,5], gamma=0.1), 8)
ex = run(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 5)
print("step", st); print("multi", ms); print("exp", ex)
# Warm restarts (per epoch) and cyclic (per step).
wr = run(lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), 12)
print("warm_restarts", [float('%.10g' % v) for v in wr])
for mode in ["triangular", "triangular2", "exp_range"]:
    cy = run(lambda o: torch.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode=mode, gamma=0.9, cycle_momentum=False), 18)
    print("cyclic", mode, [float('%.10g' % v) for v in cy])
