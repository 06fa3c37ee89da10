# SPDX-License-Identifier: Apache-2.0
"""The installed C++ library, used as its users would: `cmake --install` of the build into a
scratch prefix, then tests/consumer built against it with find_package(bnorm) and with
pkg-config and a plain compiler command, run on tensors made here, and every number it prints
checked against torch, computed here.  Also the README's "Use bnorm from C++" program, and the
version that `bnorm --version`, the CMake package and bnorm.pc state."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

import cli_support

BUILD_DIR = pathlib.Path(os.environ["BNORM_BUILD_DIR"])
SOURCE_DIR = cli_support.SOURCE_DIR
CMAKE = os.environ.get("CMAKE", "cmake")
CXX = os.environ.get("CXX", "c++")
# A sanitized build's libbnorm needs its programs linked with the sanitizers' runtimes.
SANITIZE = (["-fsanitize=address,undefined"]
            if os.environ.get("BNORM_SANITIZED", "0") not in ("0", "", "false") else [])


def run(args, **kwargs):
    completed = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if completed.returncode != 0:
        raise AssertionError(f"{args}: exit {completed.returncode}\n{completed.stdout}\n"
                             f"{completed.stderr}")
    return completed.stdout


def parse(stdout):
    """The consumer's "key: values" lines: numbers as arrays, anything else as text."""
    values = {}
    for line in stdout.splitlines():
        key, _, rest = line.partition(": ")
        try:
            values[key] = np.array([float(v) for v in rest.split()])
        except ValueError:
            values.setdefault(key, []).append(rest)
    return values


def within_ulp(test, got, expected, dtype):
    """Each value of `got` within one unit in the last place of `expected` rounded to `dtype`:
    bnorm computes in double and rounds once."""
    expected = np.asarray(expected, dtype=dtype)
    got = np.asarray(got, dtype=np.float64).reshape(expected.shape)
    ulp = np.spacing(np.abs(expected)).astype(np.float64)
    gap = np.abs(got - expected.astype(np.float64))
    test.assertTrue(np.all(gap <= ulp), f"largest gap {np.max(gap / ulp)} ulp")


class InstalledTree:
    """One install of the build under test, shared by the tests of this file."""
    prefix = None

    @classmethod
    def get(cls):
        if cls.prefix is None:
            cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-library-"))
            cls.prefix = cls.scratch / "prefix"
            run([CMAKE, "--install", BUILD_DIR, "--prefix", cls.prefix, "--component",
                 "development"])
        return cls.prefix

    @classmethod
    def pkg_config(cls, *args):
        env = dict(os.environ, PKG_CONFIG_PATH=str(cls.get() / "lib" / "pkgconfig"))
        return run(["pkg-config", *args, "bnorm"], env=env).split()


def tearDownModule():
    if InstalledTree.prefix is not None:
        shutil.rmtree(InstalledTree.scratch, ignore_errors=True)
    if getattr(ConsumerTest, "dir", None) is not None:
        shutil.rmtree(ConsumerTest.dir, ignore_errors=True)


class ConsumerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = InstalledTree.get()
        cls.dir = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-consumer-"))
        generator = torch.Generator().manual_seed(16)
        x = torch.randn(4, 3, 2, 5, generator=generator, dtype=torch.float64) * 3 + 1.5
        cls.x32 = x.float()
        cls.x64 = x * 0.7 - 2
        cls.x16 = x.half()
        cls.nhwc = (x * 2).float().permute(0, 2, 3, 1).contiguous()
        cls.weight = torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64)
        cls.bias = torch.tensor([0.25, -1.0, 3.0], dtype=torch.float64)
        cls.running_mean = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
        cls.running_var = torch.tensor([1.5, 0.5, 2.0], dtype=torch.float64)
        np.save(cls.dir / "x32.npy", cls.x32.numpy())
        # Fortran order: tensor_file gives the array in C order whatever the file's order.
        np.save(cls.dir / "x64.npy", np.asfortranarray(cls.x64.numpy()))
        np.save(cls.dir / "x16.npy", cls.x16.numpy())
        np.save(cls.dir / "nhwc.npy", cls.nhwc.numpy())
        np.save(cls.dir / "shard1.npy", cls.x32[:1].numpy())
        np.save(cls.dir / "shard2.npy", cls.x32[1:].numpy())
        np.savez(cls.dir / "state.npz", weight=cls.weight.float().numpy(),
                 bias=cls.bias.float().numpy(), running_mean=cls.running_mean.float().numpy(),
                 running_var=cls.running_var.float().numpy())
        # The state as the consumer reads it: float32 in the file.
        for name in ("weight", "bias", "running_mean", "running_var"):
            setattr(cls, name, getattr(cls, name).float().double())

        build = cls.dir / "cmake-build"
        run([CMAKE, "-S", SOURCE_DIR / "tests" / "consumer", "-B", build,
             f"-DCMAKE_PREFIX_PATH={cls.prefix}", "-DCMAKE_BUILD_TYPE=Release",
             f"-DCMAKE_CXX_COMPILER={CXX}", f"-DCMAKE_CXX_FLAGS={' '.join(SANITIZE)}"])
        run([CMAKE, "--build", build])
        cls.by_cmake = parse(run([build / "consumer", cls.dir]))

        plain = cls.dir / "consumer-pkg-config"
        run([CXX, *SANITIZE, "-std=c++20", "-O1", SOURCE_DIR / "tests" / "consumer" / "main.cpp", "-o", plain,
             *InstalledTree.pkg_config("--cflags", "--libs", "--static")])
        (cls.dir / "applied.npy").unlink()
        cls.by_pkg_config = parse(run([plain, cls.dir]))

    def torch_step(self, x, training, momentum=0.1, eps=1e-5):
        rm, rv = self.running_mean.clone(), self.running_var.clone()
        y = F.batch_norm(x.double(), rm, rv, self.weight, self.bias, training=training,
                         momentum=momentum, eps=eps)
        return y, rm, rv

    def each_build(self):
        for name, out in (("find_package", self.by_cmake), ("pkg-config", self.by_pkg_config)):
            with self.subTest(build=name):
                yield out

    def test_float32_train_torch(self):
        y, rm, rv = self.torch_step(self.x32, True)
        for out in self.each_build():
            within_ulp(self, out["train32.output"], y.numpy(), np.float32)
            np.testing.assert_allclose(out["train32.running_mean"], rm.numpy(), rtol=1e-13)
            np.testing.assert_allclose(out["train32.running_var"], rv.numpy(), rtol=1e-13)
            np.testing.assert_array_equal(out["train32.num_batches_tracked"], [1])
            dims = (0, 2, 3)
            np.testing.assert_allclose(out["train32.batch_mean"],
                                       self.x32.double().mean(dims).numpy(), rtol=1e-13)
            np.testing.assert_allclose(out["train32.batch_var"],
                                       self.x32.double().var(dims, unbiased=False).numpy(),
                                       rtol=1e-13)

    def test_float64_eval_torch(self):
        y, _, _ = self.torch_step(self.x64, False)
        for out in self.each_build():
            np.testing.assert_allclose(out["eval64.output"], y.numpy().ravel(), rtol=1e-14,
                                       atol=1e-15)

    def test_float16_train_torch(self):
        y, rm, rv = self.torch_step(self.x16, True)
        for out in self.each_build():
            within_ulp(self, out["train16.output"], y.numpy(), np.float16)
            np.testing.assert_allclose(out["train16.running_mean"], rm.numpy(), rtol=1e-13)
            np.testing.assert_allclose(out["train16.running_var"], rv.numpy(), rtol=1e-13)

    def test_keras_channels_last(self):
        # Keras's step in torch's terms: eps 1e-3, the batch weighted 1 - 0.99, channels last,
        # and running_var fed the biased variance (torch feeds the unbiased one).
        x = self.nhwc.double().permute(0, 3, 1, 2)
        y, rm, _ = self.torch_step(x, True, momentum=0.01, eps=1e-3)
        rv = 0.99 * self.running_var + 0.01 * x.var((0, 2, 3), unbiased=False)
        for out in self.each_build():
            within_ulp(self, out["keras.output"], y.permute(0, 2, 3, 1).numpy(), np.float32)
            np.testing.assert_allclose(out["keras.running_mean"], rm.numpy(), rtol=1e-13)
            np.testing.assert_allclose(out["keras.running_var"], rv.numpy(), rtol=1e-13)

    def test_every_convention_is_bnorm_apply(self):
        """Each framework's step, train and eval, on float32, float64 and float16, is the one
        `bnorm apply --convention` computes, to the bit (the CLI's conventions are checked
        against the frameworks by tests/golden); so is its running state."""
        scratch = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-conventions-"))
        self.addCleanup(shutil.rmtree, scratch, ignore_errors=True)
        for convention in ("torch", "keras", "onnx", "tf-fused", "caffe", "flax"):
            for mode in ("train", "eval"):
                key = f"{convention}.{mode}"
                for dtype, name in (("float32", "x32.npy"), ("float64", "x64.npy"),
                                    ("float16", "x16.npy")):
                    out, stats = scratch / f"{key}.{dtype}.npy", scratch / f"{key}.json"
                    result = cli_support.run(
                        ["apply", self.dir / name, "-o", out, "--convention", convention,
                         "--mode", mode, "--axis", "1", "--state", self.dir / "state.npz",
                         "--stats-out", stats, "-q"])
                    self.assertEqual(result.status, 0, result.stderr)
                    expected = np.load(out)
                    self.assertEqual(expected.dtype, np.dtype(dtype))
                    for by, got in zip(("find_package", "pkg-config"),
                                       (self.by_cmake, self.by_pkg_config)):
                        with self.subTest(step=f"{key}.{dtype}", build=by):
                            np.testing.assert_array_equal(
                                got[f"{key}.{dtype}.output"].astype(expected.dtype),
                                expected.ravel())
                            if dtype == "float32":
                                state = json.loads(stats.read_text())
                                for field in ("running_mean", "running_var"):
                                    np.testing.assert_array_equal(got[f"{key}.float32.{field}"],
                                                                  state[field])

    def test_caffe_has_no_weight_and_bias(self):
        # Caffe's BatchNorm layer has no scale and shift (a separate Scale layer has them): the
        # state's weight and bias go unused, as torch's affine=False computes it.
        x = self.x32.double()
        rm, rv = self.running_mean.clone(), self.running_var.clone()
        train = F.batch_norm(x, rm.clone(), rv.clone(), None, None, training=True, eps=1e-5)
        evaluated = F.batch_norm(x, rm, rv, None, None, training=False, eps=1e-5)
        for out in self.each_build():
            within_ulp(self, out["caffe.train.float32.output"], train.numpy(), np.float32)
            within_ulp(self, out["caffe.eval.float32.output"], evaluated.numpy(), np.float32)

    def test_streaming_apply_and_stats(self):
        y, rm, rv = self.torch_step(self.x32, True)
        applied = np.load(self.dir / "applied.npy")
        self.assertEqual(applied.dtype, np.float32)
        within_ulp(self, applied, y.numpy(), np.float32)
        dims = (0, 2, 3)
        for out in self.each_build():
            np.testing.assert_allclose(out["apply.running_mean"], rm.numpy(), rtol=1e-13)
            np.testing.assert_allclose(out["apply.running_var"], rv.numpy(), rtol=1e-13)
            np.testing.assert_array_equal(out["stats.count"], [40, 40, 40])
            np.testing.assert_allclose(out["stats.mean"], self.x32.double().mean(dims).numpy(),
                                       rtol=1e-13)
            np.testing.assert_allclose(out["stats.var_unbiased"],
                                       self.x32.double().var(dims).numpy(), rtol=1e-13)

    def test_merged_shards_are_the_whole_batch(self):
        dims = (0, 2, 3)
        for out in self.each_build():
            np.testing.assert_array_equal(out["merged.count"], [40, 40, 40])
            np.testing.assert_allclose(out["merged.mean"], self.x32.double().mean(dims).numpy(),
                                       rtol=1e-13)
            np.testing.assert_allclose(out["merged.var"],
                                       self.x32.double().var(dims, unbiased=False).numpy(),
                                       rtol=1e-13)

    def test_consumer_with_xsimd(self):
        """A consumer built with XTENSOR_USE_XSIMD (xtensor::use_xsimd), whose xt::xarray has
        xsimd's aligned allocator, links the same library and computes the same numbers."""
        program = self.dir / "consumer-xsimd"
        run([CXX, *SANITIZE, "-std=c++20", "-O1", "-DXTENSOR_USE_XSIMD",
             SOURCE_DIR / "tests" / "consumer" / "main.cpp", "-o", program,
             *InstalledTree.pkg_config("--cflags", "--libs", "--static")])
        self.assertEqual(parse(run([program, self.dir])).keys(), self.by_pkg_config.keys())
        for key, values in parse(run([program, self.dir])).items():
            np.testing.assert_array_equal(values, self.by_pkg_config[key], key)

    def test_named_tensors_and_errors(self):
        for out in self.each_build():
            self.assertEqual(out["state.format"], ["npz"])
            self.assertEqual(out["state.tensor"], ["weight float32 3", "bias float32 3",
                                                   "running_mean float32 3",
                                                   "running_var float32 3"])
            self.assertEqual(len(out["usage_error"]), 1)
            self.assertIn("running_mean", out["usage_error"][0])
            self.assertIn("missing.npy", out["io_error"][0])


def build_onnx_alongside(output, bnorm_flags):
    """tests/consumer/onnx_alongside.cpp linked with libbnorm (`bnorm_flags`) and with Debian's
    libonnx_proto.so (libonnx-dev), as an inference engine links them; it calls protobuf too."""
    run([CXX, *SANITIZE, "-std=c++20", "-O1", "-DONNX_ML=1", "-DONNX_NAMESPACE=onnx",
         SOURCE_DIR / "tests" / "consumer" / "onnx_alongside.cpp", "-o", output, *bnorm_flags,
         "-lonnx_proto", "-lprotobuf"])


def onnx_alongside_model(path):
    """A BatchNormalization model whose initializers are float_data (libonnx_proto's reader
    prints those), saved to `path`; returns its initializers as Python's onnx reads them back."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(16)
    names = ("scale", "B", "mean", "var")
    values = [rng.standard_normal(3).astype(np.float32) for _ in names]
    values[3] = np.abs(values[3]) + 0.5
    graph = helper.make_graph(
        [helper.make_node("BatchNormalization", ["X", *names], ["Y"], epsilon=1e-5)],
        "alongside", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor(n, TensorProto.FLOAT, [3], v.tolist()) for n, v in zip(names, values)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]), path)
    model = onnx.load(path)
    return model, {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def check_onnx_alongside(test, program, scratch):
    """Runs an onnx_alongside `program` on a model made in `scratch`, checking both readers."""
    model, initializers = onnx_alongside_model(scratch / "bn.onnx")
    out = parse(run([program, scratch / "bn.onnx"]))
    test.assertEqual(out["onnx type"], [model.DESCRIPTOR.full_name])
    test.assertEqual(out["onnx fields"], [len(model.ListFields())])
    test.assertEqual(out["onnx reserialized"], [1])
    test.assertEqual(out["onnx text"], [str(model).splitlines()[0]])
    test.assertEqual(out["onnx graph"], [model.graph.name])
    test.assertEqual(out["onnx nodes"], [len(model.graph.node)])
    # bnorm names a BatchNormalization's tensors after its output, as PyTorch's state.
    state_names = {"scale": "Y.weight", "B": "Y.bias", "mean": "Y.running_mean",
                   "var": "Y.running_var"}
    for name, values in initializers.items():
        for key in (f"onnx {name}", f"bnorm {state_names[name]}"):
            with test.subTest(tensor=key):
                np.testing.assert_array_equal(out[key], values.shape)
                # Printed with 9 digits: each float32 exactly, read back as float32.
                np.testing.assert_array_equal(out[f"{key}.values"].astype(np.float32),
                                              values)
    test.assertEqual(len(out), 6 + 4 * len(initializers))


class OnnxAlongsideTest(unittest.TestCase):
    """libbnorm's ONNX schema is its own (package bnorm.onnx_schema): a program linking the
    static libbnorm and Debian's libonnx_proto.so reads a model with both, each right."""

    def test_static_libbnorm_beside_libonnx_proto(self):
        with tempfile.TemporaryDirectory(prefix="bnorm-onnx-alongside-") as scratch:
            scratch = pathlib.Path(scratch)
            program = scratch / "onnx_alongside"
            build_onnx_alongside(program, InstalledTree.pkg_config("--cflags", "--libs",
                                                                   "--static"))
            self.assertIn("libonnx_proto.so", run(["readelf", "-d", program]))
            check_onnx_alongside(self, program, scratch)
            # Code of onnx:: in the program (libbnorm's) is what libonnx_proto.so's own calls
            # would bind to.  (Its default instances are there as copy relocations: B.)
            exported = run(["nm", "-D", "--defined-only", "--demangle", program])
            self.assertEqual(re.findall(r" [TtWw] onnx::.*", exported), [])


@unittest.skipUnless(os.environ.get("BNORM_TEST_SHARED") == "1",
                     "the shared library compiles the core again (minutes): configure with "
                     "-DBNORM_TEST_SHARED_LIBRARY=ON (or BNORM_TEST_SHARED=1); a build with "
                     "BUILD_SHARED_LIBS=ON is tested shared above")
class SharedLibraryTest(unittest.TestCase):
    """libbnorm.so from a BUILD_SHARED_LIBS build of these sources, with its SONAME, and the
    consumer linked with it printing what it printed linked with the static library."""

    def test_shared_library(self):
        if not hasattr(ConsumerTest, "by_cmake"):
            ConsumerTest.setUpClass()
        scratch = pathlib.Path(tempfile.mkdtemp(prefix="bnorm-shared-"))
        self.addCleanup(shutil.rmtree, scratch, ignore_errors=True)
        build, prefix = scratch / "build", scratch / "prefix"
        launcher = os.environ.get("BNORM_COMPILER_LAUNCHER")
        run([CMAKE, "-S", SOURCE_DIR, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
             "-DBUILD_SHARED_LIBS=ON", "-DBNORM_BUILD_TESTS=OFF", f"-DCMAKE_CXX_COMPILER={CXX}",
             f"-DCMAKE_CXX_FLAGS={' '.join(SANITIZE)}",
             *([f"-DCMAKE_CXX_COMPILER_LAUNCHER={launcher}"] if launcher else [])])
        run([CMAKE, "--build", build, "--target", "bnorm_core", "-j", str(os.cpu_count() or 1)])
        run([CMAKE, "--install", build, "--prefix", prefix, "--component", "development"])
        # The versioned file is the runtime component's (a shared bnorm binary needs it), which
        # would install the binary too: it is copied as that component installs it.
        for library in build.glob("libbnorm.so.*"):
            shutil.copy(library, prefix / "lib", follow_symlinks=False)
        dynamic = run(["readelf", "-d", prefix / "lib" / "libbnorm.so"])
        self.assertIn("Library soname: [libbnorm.so.0]", dynamic)
        # bnorm's own symbols only (cmake/libbnorm.map): none of the ONNX schema's classes
        # in namespace onnx, nor nlohmann/json's, for a program's own copies to bind to; the
        # exceptions' typeinfo, for a program to catch them.
        exported = run(["nm", "-D", "--defined-only", "--demangle",
                        prefix / "lib" / "libbnorm.so"]).splitlines()
        self.assertEqual([s for s in exported if re.search(r"\bonnx::", s)], [])
        of_namespace = re.compile(r"\S+ \S+ (?:.* for |.* to )?(?:onnx|nlohmann)::")
        self.assertEqual([s for s in exported if of_namespace.match(s)], [])
        self.assertEqual([s for s in exported if "bnorm::" not in s], [])
        exported = "\n".join(exported) + "\n"
        for error in ("error", "usage_error", "data_error", "io_error"):
            self.assertRegex(exported, rf" V typeinfo for bnorm::{error}\n")

        consumer = scratch / "consumer"
        run([CMAKE, "-S", SOURCE_DIR / "tests" / "consumer", "-B", consumer,
             f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release",
             f"-DCMAKE_CXX_COMPILER={CXX}", f"-DCMAKE_CXX_FLAGS={' '.join(SANITIZE)}"])
        run([CMAKE, "--build", consumer])
        self.assertIn("libbnorm.so.0", run(["readelf", "-d", consumer / "consumer"]))
        data = scratch / "data"
        shutil.copytree(ConsumerTest.dir, data)
        (data / "applied.npy").unlink()
        shared = parse(run([consumer / "consumer", data]).replace(str(data), str(ConsumerTest.dir)))
        self.assertEqual(shared.keys(), ConsumerTest.by_cmake.keys())
        for key, values in shared.items():
            np.testing.assert_array_equal(values, ConsumerTest.by_cmake[key], key)

        beside = scratch / "onnx_alongside"
        env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
        build_onnx_alongside(beside, [*run(["pkg-config", "--cflags", "--libs", "bnorm"],
                                           env=env).split(), f"-Wl,-rpath,{prefix / 'lib'}"])
        check_onnx_alongside(self, beside, scratch)


class ReadmeProgramTest(unittest.TestCase):
    def test_use_bnorm_from_cpp(self):
        readme = (SOURCE_DIR / "README.md").read_text()
        section = re.search(r"^## Use bnorm from C\+\+\n(.*?)(?=^## )", readme, re.S | re.M)
        self.assertIsNotNone(section, "README.md has no section 'Use bnorm from C++'")
        program = re.search(r"```cpp\n(.*?)```", section.group(1), re.S).group(1)
        self.assertLessEqual(len(program.splitlines()), 20)
        command = re.search(r"```sh\n(c\+\+ .*?)\n```", section.group(1), re.S).group(1)
        with tempfile.TemporaryDirectory(prefix="bnorm-readme-") as scratch:
            scratch = pathlib.Path(scratch)
            (scratch / "normalize.cpp").write_text(program)
            env = dict(os.environ, PKG_CONFIG_PATH=str(InstalledTree.get() / "lib" / "pkgconfig"))
            run(["sh", "-c", command.replace("c++ ", " ".join([CXX, *SANITIZE, ""]), 1)], cwd=scratch, env=env)
            lines = run([scratch / "normalize"]).splitlines()
        x = torch.tensor([[1.0, 2.0], [3.0, 5.0], [4.0, 8.0]], dtype=torch.float64)
        rm, rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
        y = F.batch_norm(x, rm, rv, training=True, momentum=0.1, eps=1e-5)
        self.assertEqual(len(lines), 2, lines)
        # Printed to 7 digits; torch's double gives -1e-16 where float's gives 0.
        np.testing.assert_allclose([float(v) for v in lines[0].split()], y.numpy().ravel(),
                                   rtol=1e-6, atol=1e-6)
        self.assertEqual(lines[1].split()[0], "running_var:")
        np.testing.assert_allclose([float(v) for v in lines[1].split()[1:]], rv.numpy(),
                                   rtol=1e-6)


class PkgConfigLocationTest(unittest.TestCase):
    def test_multiarch_libdir(self):
        """Debian's GNUInstallDirs puts the library in lib/<triplet> (prefix /usr): bnorm.pc,
        three folders below the prefix there, still finds the headers and the library."""
        libdir = "lib/x86_64-linux-gnu"
        with tempfile.TemporaryDirectory(prefix="bnorm-multiarch-") as scratch:
            scratch = pathlib.Path(scratch)
            run([CMAKE, "-S", SOURCE_DIR, "-B", scratch / "build", f"-DCMAKE_INSTALL_LIBDIR={libdir}",
                 "-DBNORM_BUILD_TESTS=OFF", f"-DCMAKE_CXX_COMPILER={CXX}"])
            prefix = scratch / "prefix"
            shutil.copytree(InstalledTree.get() / "include", prefix / "include")
            (prefix / libdir / "pkgconfig").mkdir(parents=True)
            shutil.copy(InstalledTree.get() / "lib" / "libbnorm.a", prefix / libdir)
            shutil.copy(scratch / "build" / "bnorm.pc", prefix / libdir / "pkgconfig")
            env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / libdir / "pkgconfig"))
            asked = lambda variable: pathlib.Path(run(
                ["pkg-config", f"--variable={variable}", "bnorm"], env=env).strip()).resolve()
            self.assertEqual(asked("prefix"), prefix.resolve())
            self.assertTrue((asked("includedir") / "bnorm" / "bnorm.hpp").is_file())
            self.assertTrue((asked("libdir") / "libbnorm.a").is_file())


class VersionTest(unittest.TestCase):
    def compatible(self, prefix, requested):
        """What the installed package answers find_package(bnorm `requested`)."""
        with tempfile.TemporaryDirectory() as scratch:
            script = pathlib.Path(scratch) / "ask.cmake"
            major, minor = requested.split(".")
            script.write_text(
                f'set(PACKAGE_FIND_VERSION "{requested}")\n'
                f'set(PACKAGE_FIND_VERSION_MAJOR "{major}")\n'
                f'set(PACKAGE_FIND_VERSION_MINOR "{minor}")\n'
                'set(PACKAGE_FIND_VERSION_PATCH "0")\n'
                'set(PACKAGE_FIND_VERSION_COUNT 2)\n'
                f'include("{prefix}/lib/cmake/bnorm/bnormConfigVersion.cmake")\n'
                'message("compatible=${PACKAGE_VERSION_COMPATIBLE}")\n')
            completed = subprocess.run([CMAKE, "-P", script], capture_output=True, text=True)
        return "compatible=TRUE" in completed.stderr

    def test_binary_cmake_package_and_pkg_config_agree(self):
        first = cli_support.run(["--version"]).stdout.decode().splitlines()[0]
        self.assertRegex(first, r"^bnorm \d+\.\d+\.\d+$")
        version = first.split()[1]
        prefix = InstalledTree.get()
        package = (prefix / "lib" / "cmake" / "bnorm" / "bnormConfigVersion.cmake").read_text()
        self.assertIn(f'set(PACKAGE_VERSION "{version}")', package)
        major, minor, _ = (int(v) for v in version.split("."))
        # Semantic versioning of 0.x: another minor version may break the API (SameMinorVersion).
        self.assertTrue(self.compatible(prefix, f"{major}.{minor}"))
        self.assertFalse(self.compatible(prefix, f"{major}.{minor + 1}"))
        if minor > 0:
            self.assertFalse(self.compatible(prefix, f"{major}.{minor - 1}"))
        self.assertFalse(self.compatible(prefix, f"{major + 1}.0"))
        self.assertEqual(InstalledTree.pkg_config("--modversion"), [version])
        header = (prefix / "include" / "bnorm" / "version.hpp").read_text()
        self.assertIn(f'#define BNORM_VERSION_STRING "{version}"', header)


if __name__ == "__main__":
    unittest.main()
