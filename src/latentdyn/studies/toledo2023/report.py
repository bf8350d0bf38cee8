"""The report of the toledo2023 study: :func:`report` writes every seed's files
(:mod:`.outputs`), the further seeds' scorecards and ``report.html`` -- its intro,
sections, notes and settings, each built from the stages' results and the figures."""

from __future__ import annotations


import numpy as np

from latentdyn.reporting.prose import timings_text
from latentdyn.studies.toledo2023 import claims as cl
from latentdyn.studies.toledo2023.claims import DENOISE_K
from latentdyn.studies.toledo2023.profiles import PROFILES, Profile

PAPER_TITLE = ("Toledo-Marín & Glazier (2023): Using deep LSD to build operators in GANs "
               "latent space with meaning in real space")
OUTPUTS = ["report.html", "claims.json", "claims.md", "basis.safetensors", "figures/", "data/",
           "runs/"]


def report(run, setup, results, claims) -> None:
    """The files of every seed (the first in the output folder, a further seed ``s`` in
    ``seeds/seed<s>/`` with its own scorecard), ``report.html`` of the first, and the
    manifest's claims, runs, results and outputs."""
    from latentdyn.reporting.claims import summarise, write_scorecard
    from latentdyn.reporting.report import write_report
    from latentdyn.studies.toledo2023.outputs import headline, write_outputs

    prof, first, seeds = setup.profile, results.first, results.seed_list
    with run.stage("figures and data"):
        figures = write_outputs(run.out, prof, first)
        for res in results.seeds[1:]:
            sub = run.out / "seeds" / f"seed{res.seed}"
            write_outputs(sub, prof, res)
            write_scorecard(cl.seed_claims(res), sub)
    with run.stage("report"):
        table = settings(prof, setup.data, first, run.timings, run.wall_time, setup.device)
        if len(seeds) > 1:
            table["training seeds (--seeds; the figures show the first)"] = seeds
        write_report(run.out / "report.html", PAPER_TITLE + " — reproduction", intro(prof),
                     table, sections(first, figures), claims,
                     notes(setup.data, first, run.timings))
    run.record(claims=summarise(claims), runs=first.nets.paths, results=headline(first),
               outputs=OUTPUTS + (["seeds/"] if len(seeds) > 1 else []))


def _pct(v) -> str:
    return "—" if v is None or v != v else f"{100 * v:.1f} %"


# ------------------------------------------------------------------------ sections
def sections(res, fig) -> list:
    """The report's sections, in the order of the stages: the results of one seed
    (:class:`~.stages.SeedResults`) with its figures (:class:`~.outputs.Figures`)."""
    from latentdyn.reporting.report import Section

    out = [_samples_section(res, fig.samples), _gram_section(res, fig.gram),
           _decoded_section(res, fig.decoded), _amplitude_section(res, fig.amplitudes),
           _denoising_section(res, fig.denoise_curves)]
    for noise, lev, saved in fig.denoise_grids:
        out.append(Section(f"Denoising examples: {noise}", saved.png, saved.caption,
                           "pictures of denoised digits.", _examples_found(res, noise, lev)))
    out.append(_rotation_section(res, fig.rotations))
    f_path = fig.rotation_paths
    if f_path is not None:
        rot = res.rotations
        out.append(Section(cl.SECTION_PATHS, f_path.png, f_path.caption,
                           "pictures of digits turned into others.",
                           f"of the {rot.paths} paths drawn from, the judge reads the target "
                           f"digit at π/2 in {_pct(rot.frac_end_j)} (the measured rotations "
                           "above); these pictures are a few of them.", data=f_path.csv))
    return out


def _examples_found(res, noise: str, level) -> str:
    """The measured numbers behind a grid of denoising examples (its noise and level)."""
    hit = [p for p in res.denoising.paired if p.noise == noise and p.level == level]
    if not hit:
        return (f"examples of {noise} noise at {level:g}; this level was not among the "
                "measured ones (see the denoising section).")
    p = hit[0]
    return (f"at {noise} {level:g}, over the measured test images the judge reads "
            f"{_pct(p.acc_input)} of the corrupted inputs and {_pct(p.acc_lsd)} after "
            f"keeping k = {DENOISE_K} coefficients; PSNR {p.psnr_input:.2f} → "
            f"{p.psnr_lsd:.2f} dB. The grid shows a few of those images.")


def _samples_section(res, f):
    from latentdyn.reporting.report import Section

    q, gm = res.samples, res.nets.gan_metrics
    text = (f"the judge's score exp E KL(p(y|x)||p(y)) of G(z) is {q.score_generated:.2f} "
            f"(real test images: {q.score_test_images:.2f}); mean judge confidence "
            f"{q.judge_confidence_generated:.2f} (real: "
            f"{q.judge_confidence_test_images:.2f}); normalised entropy of the judge's "
            f"labels {q.label_entropy_judge:.2f}.")
    if gm:
        text += (f" Last epoch: D loss {gm.get('train_d_loss', float('nan')):.3f}, G loss "
                 f"{gm.get('train_g_loss', float('nan')):.3f}, sample diversity "
                 f"{gm.get('diversity', float('nan')):.2f} of the data's; mode collapse "
                 f"flagged: {'yes' if gm.get('collapse') else 'no'}, divergence flagged: "
                 f"{'yes' if gm.get('diverged') else 'no'}.")
    return Section(cl.SECTION_SAMPLES, f.png, f.caption,
                   "a DCGAN on MNIST (its samples are not characterised in the abstract).",
                   text, data=f.csv)


def _gram_section(res, f):
    from latentdyn.reporting.report import Section

    g = res.gram
    return Section(cl.SECTION_GRAM, f.png, f.caption,
                   "the quasi-eigenvectors are linearly independent and span the latent space "
                   "(Gram–Schmidt of the class means).",
                   f"the class means have mean |off-diagonal cosine| {g.off_means:.3f}; the "
                   f"quasi-eigenvectors are orthonormal to {res.lsd.gram_deviation:.1e}. "
                   + _order_note(g.cross), data=f.csv)


def _decoded_section(res, f):
    from latentdyn.reporting.report import Section

    d, k_lab = res.decoded, res.lsd.num_label
    return Section(cl.SECTION_DECODED, f.png, f.caption,
                   "a set of quasi-eigenvectors maps to the labels one-to-one.",
                   f"the judge reads G(s_k ξ_k) as its own class for {d.n_one} of {k_lab} "
                   f"classes (classifier C: {d.n_one_classifier}); the class means G(m_k): "
                   f"{d.n_mean} of {k_lab}. Observed after the rule was fixed, not part of "
                   f"it: at ½·s_k the judge reads k for {d.per_factor[1]}, at 2·s_k for "
                   f"{d.per_factor[3]} of {k_lab} classes — the decoding depends on the "
                   "scale.", data=f.csv)


def _amplitude_section(res, f):
    from latentdyn.reporting.report import Section

    lsd, a = res.lsd, res.amplitudes
    t, acc, k_lab = lsd.test, lsd.accuracies, lsd.num_label
    return Section(
        cl.SECTION_AMPLITUDES, f.png, f.caption,
        "98 % of the data map to the label sub-space (dimension = number of labels).",
        f"{_pct(t['label_subspace_fraction'])} of {t['n']} test images have their "
        f"largest |c_i| in the {k_lab}-dimensional label sub-space (chance "
        f"{100 * k_lab / res.nets.nz:.0f} %); the largest is the true label's for "
        f"{_pct(t['lsd_accuracy'])} (classifier C on the images: "
        f"{_pct(acc['classifier_test'])}, judge {_pct(acc['judge_test'])}; on G(E(x)): "
        f"C {_pct(acc['classifier_reconstructions'])}, judge "
        f"{_pct(acc['judge_reconstructions'])}). {100 * lsd.energy:.1f} % of "
        f"Σ c_i² lies in the label sub-space. LSD accuracy per class, in Gram–Schmidt "
        "order: " + ", ".join(f"{k}: {100 * v:.0f} %"
                               for k, v in a.per_class_accuracy.items()) + "."
        + _null_note(lsd),
        data=f.csv)


def _denoising_section(res, f):
    from latentdyn.reporting.report import Section

    den = res.denoising
    text = "; ".join(f"{p.noise} at {p.level:g}: judge accuracy {_pct(p.acc_input)} on the "
                     f"corrupted input, {_pct(p.acc_lsd)} after keeping k = {DENOISE_K} "
                     f"coefficients (Δ = {100 * p.delta:+.1f} ± {100 * p.se:.1f} points); "
                     f"PSNR {p.psnr_input:.2f} → {p.psnr_lsd:.2f} dB" for p in den.paired)
    return Section(cl.SECTION_DENOISING, f.png, f.caption,
                   "LSD denoises MNIST images (shown as pictures, not measured).",
                   (text or "no moderate level measured") + ". "
                   + _versus_all(den.rows, res.nets.nz), data=f.csv)


def _rotation_section(res, f):
    from latentdyn.reporting.report import Section

    rot = res.rotations
    return Section(
        cl.SECTION_ROTATIONS, f.png, f.caption,
        "rotation matrices built from the quasi-eigenvectors map to feature transformations "
        "in real space (digit i → digit j).",
        f"at π/2 the judge reads the target digit j in {_pct(rot.frac_end_j)} of "
        f"{rot.paths} paths and the source i in {_pct(rot.frac_end_i)}; "
        f"{_pct(rot.frac_start_i)} were read as i at θ = 0. " + _pair_order_note(rot),
        data=f.csv)


def _null_note(lsd) -> str:
    """T1's references: the fraction with shuffled labels, and the centred reading."""
    paper, centred = lsd.subspace.get("paper"), lsd.subspace.get("centred")
    if paper is None:
        return ""
    text = (f" With the basis latents' labels shuffled the same statistic gives "
            f"{_pct(paper.null.mean)} ({100 * paper.null.level:g}th percentile "
            f"{_pct(paper.null.quantile)}): the fraction is "
            f"{'above' if paper.margin > 0 else 'not above'} what labels without information "
            f"give.")
    if centred is not None:
        text += (f" With the latents centred first (their mean, the mean of the class means, "
                 f"removed before Gram–Schmidt; a label sub-space of {centred.dim} dimensions) "
                 f"the fraction is {_pct(centred.fraction)} against {_pct(centred.null.mean)} "
                 f"with shuffled labels ({100 * centred.null.level:g}th percentile "
                 f"{_pct(centred.null.quantile)}).")
    return text


def _order_note(cross) -> str:
    """How much of the later class means the first quasi-eigenvector already holds."""
    cross = np.asarray(cross, dtype=float)
    if cross.shape[0] < 2:
        return ""
    return (f"ξ_0 (= m_0/‖m_0‖) has mean cosine {cross[0, 1:].mean():.2f} with the other "
            f"class means, and the later class means keep on average only "
            f"{np.mean(np.diag(cross)[1:]):.2f} of their direction on their own vector: "
            "what the class means share goes to the first vectors of the Gram–Schmidt "
            "order.")


def _pair_order_note(rot) -> str:
    """The rotation success for pairs i before j and j before i in the Gram–Schmidt
    order (read from the matrix of end readings)."""
    m = np.asarray(rot.end_matrix, dtype=float)
    k = m.shape[0]
    if k < 2 or not rot.paths:
        return ""
    up, low = m[np.triu_indices(k, 1)], m[np.tril_indices(k, -1)]
    return (f"Pairs with i before j in the Gram–Schmidt order reach j in {_pct(up.mean())} "
            f"of paths, pairs with i after j in {_pct(low.mean())}.")


def _versus_all(rows: list, nz: int) -> str:
    """How the truncation k = DENOISE_K compares with the plain reconstruction."""
    by = {}
    for r in rows:
        if r["family"] == "clean":
            continue
        by.setdefault((r["noise"], r["level"]), {})[r["variant_label"]] = r["accuracy"]
    k = f"k={DENOISE_K}"
    pairs = [(d[k], d["all"]) for d in by.values() if k in d and "all" in d]
    if not pairs:
        return ""
    better = sum(a > b for a, b in pairs)
    return (f"Against the plain reconstruction G(E(x)) (all {nz} coefficients), k = "
            f"{DENOISE_K} has the higher judge accuracy in {better} of {len(pairs)} noise "
            f"settings (mean difference {100 * float(np.mean([a - b for a, b in pairs])):+.1f} "
            "points): the encoder itself removes much of the noise.")


# ------------------------------------------------------------------------ text
def intro(prof: Profile) -> str:
    return (
        "A DCGAN with a 100-dimensional Gaussian latent is trained on MNIST, then an encoder E "
        "with the generator G and a CNN classifier C frozen (SPEC §3). Latent vectors "
        "labelled by C(G(z)) — first E over the training images, then prior samples — give "
        "the per-class means, whose Gram–Schmidt orthonormalisation, completed to a basis, "
        "are the quasi-eigenvectors ξ_i. An image's LSD is c_i = <E(x), ξ_i>. The abstract's "
        "claims are turned into measurable statistics (T1-T5) whose thresholds were fixed in "
        "code before any run. Images are read by a second CNN, the judge, of the same "
        "architecture but another seed, which took no part in training the GAN or the "
        "encoder (the encoder is trained to make C read G(E(x)) as the label, so C's own "
        "readings would flatter it); C's readings are reported beside the judge's."
        + _reductions(prof))


def _reductions(prof: Profile) -> str:
    """Every setting a reduced profile changes, against the paper profile."""
    if prof.name == "paper":
        return ""
    p = PROFILES["paper"]
    g, pg = prof.gan, p.gan
    c, pc = prof.classifier, p.classifier
    e, pe = prof.encoder, p.encoder
    return (
        f"\n\nThis is the '{prof.name}' profile, reduced from the paper profile to fit a "
        f"small CPU budget: data {prof.dataset} (paper: MNIST, 60 000 training images); "
        f"DCGAN generator width {g.g_width} (paper: {pg.g_width}, i.e. dense → 7×7×256), "
        f"discriminator width {g.d_width} (paper profile: {pg.d_width}), "
        f"{g.epochs} GAN epochs at batch {g.batch_size} (paper profile: "
        f"{pg.epochs} at {pg.batch_size}); CNNs conv {c.conv1}-{c.conv2}, "
        f"dense {c.dense}, {c.epochs} epochs (paper profile: "
        f"{pc.conv1}-{pc.conv2}, {pc.dense}, {pc.epochs}); encoder width "
        f"{e.e_width}/{e.e_hidden}, {e.epochs} epochs (paper profile: "
        f"{pe.e_width}/{pe.e_hidden}, {pe.epochs}); at most {prof.max_per_class} latents "
        f"per class (paper: 5000 of about 6000 training images per class; "
        f"{prof.max_per_class} keeps that proportion on 10 000 images); {prof.den_images} "
        f"images per denoising setting (paper profile: {p.den_images}); {prof.rot_images} "
        f"images per rotated digit (paper profile: {p.rot_images}). A GAN trained this "
        "briefly makes rough digits: read the results as those of this GAN, not as the "
        "paper's.")


def notes(data, res, timings: dict) -> list[str]:
    out = [
        "The paper is available only as an abstract; the method follows the authors' public "
        "code as summarised in SPEC §3, with its rank-one 'rotations' replaced by true "
        "rotations (orthogonal, determinant +1) in the plane of (ξ_i, ξ_j).",
        "Quasi-eigenvectors: the class means are orthonormalised in float64 by Householder QR "
        "with signs fixed (the Gram–Schmidt vectors, computed stably), in class order 0, 1, …; "
        "the remaining vectors complete the basis by Gram–Schmidt of the standard basis. "
        "LSD classification and the label-sub-space fraction use argmax_i |c_i| over all nz "
        "coefficients.",
        "Decoding scale of the quasi-eigenvectors: s_k = <m_k, ξ_k>, the average coefficient "
        "on ξ_k of the latents labelled k (a unit vector decoded at norm 1 lies well inside "
        "the prior's bulk and shows little); half and twice that are shown too. The scales "
        "are in the figure's CSV.",
        "Denoising: every output is clipped to [0, 1] before scoring; PSNR = 10 log10(1/MSE) "
        "per image, averaged; the corrupted images of each (noise, level) are drawn once "
        "from a seed of (seed, noise, level) and shared by every variant. Noise kinds: "
        "additive Gaussian (level = std), salt-and-pepper and swap (level = fraction of "
        "pixels); see latentdyn.data.corruption.",
        "T2's paired standard error is that of the per-image difference of the judge's "
        "correctness (k = 10 output minus corrupted input) on the same images.",
        timings_text(timings),
    ]
    if data.name == "mnist-embedded":
        out.append("Data: the embedded MNIST subset (the first 10 000 training images and "
                   "the full 10 000-image test set), not the paper's 60 000 training images.")
    gm = res.nets.gan_metrics or {}
    if gm.get("collapse") or gm.get("diverged"):
        out.append("The GAN's training monitor flagged "
                   + ("mode collapse" if gm.get("collapse") else "divergence")
                   + " at its last epoch: see the run's samples/ and metrics.csv.")
    return out


def settings(prof: Profile, data, res, timings: dict, wall_time: float, device) -> dict:
    """The report's settings table: the profile, the runs and every reduced setting."""
    import torch

    nets, basis, den = res.nets, res.lsd.basis, res.denoising
    clf, gan, enc = prof.classifier, prof.gan, prof.encoder
    return {"profile": prof.name, "dataset": data.name, "seed": res.seed,
            "device": str(device), "torch threads": torch.get_num_threads(),
            "wall time (s)": round(wall_time, 1), "runs": nets.paths, "timings (s)": timings,
            "classifier C and judge J": {
                "architecture": f"CNN conv {clf.conv1}-{clf.conv2}, dense {clf.dense}",
                "epochs": clf.epochs, "batch": clf.batch_size, "lr": clf.lr,
                "seeds": f"{2 * res.seed} (C), {2 * res.seed + 1} (J)"},
            "DCGAN": {"epochs": gan.epochs, "batch": gan.batch_size,
                      "lr (Adam, betas 0.5, 0.99)": gan.lr, "g_width": gan.g_width,
                      "d_width": gan.d_width, "nz": nets.nz},
            "encoder": {"epochs": enc.epochs, "batch": enc.batch_size, "lr": enc.lr,
                        "e_width": enc.e_width, "e_hidden": enc.e_hidden,
                        "loss": f"{enc.rec_weight:g} rec + {enc.ce_weight:g} CE + "
                                f"{enc.kl_weight:g} KL"},
            "quasi-eigenvectors": {
                "training images encoded": len(res.images.train_y),
                "max per class": prof.max_per_class,
                "prior samples (at most)": prof.n_prior,
                "latents per class": basis.counts.tolist(),
                "from encoder / prior": f"{basis.meta.get('from_encoder')} / "
                                        f"{basis.meta.get('from_prior')}"},
            "LSD test images": res.lsd.test["n"],
            "denoising": {"images": den.n_images, "ks": den.ks,
                          "noises": {n: list(lv) for n, lv in prof.noises},
                          "moderate levels (T2)": den.moderate},
            "rotations": {"images per digit": prof.rot_images,
                          "steps to π/2": prof.rot_steps}}
