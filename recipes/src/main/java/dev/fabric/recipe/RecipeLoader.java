package dev.fabric.recipe;

import dev.fabric.FabricException;
import dev.fabric.template.ChatTemplate;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Reads a recipe from YAML into a validated {@link Recipe}. The YAML is composed into nodes (snakeyaml-engine's
 * node API, YAML 1.2 core schema) so that every error names the line and column of the key or value at fault:
 * {@code recipe.yaml:12:5: lora.rnak: unknown key (did you mean lora.rank?)}. Overrides given as
 * {@code --set key.sub=value} are parsed as YAML values and validated like the file's; their errors name the
 * {@code --set}. Paths are resolved against the recipe file's folder.
 */
public final class RecipeLoader {
    private RecipeLoader() {}

    /** A value and where it was written ({@code file:line:col} or {@code --set k=v}). */
    private record Val(Object value, String where) {}

    /** Reads {@code file} and applies the overrides ({@code key=value} each). */
    public static Recipe load(Path file, List<String> sets) {
        String text;
        try {
            if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
            // A recipe is a page of YAML: 1 MiB is far more than any needs, and bounds what /dev/zero could cost.
            text = dev.fabric.io.TextInput.read(file, 1L << 20, null);
        } catch (NoSuchFileException e) {
            throw new FabricException("no such recipe file: " + file, FabricException.EXIT_INPUT, e);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new RecipeException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new FabricException("cannot read recipe " + file + ": " + e.getMessage(), FabricException.EXIT_IO, e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return parse(text, file.toString(), dir, file, sets);
    }

    /**
     * Reads recipe text.
     *
     * @param name the file name errors show
     * @param dir  the folder relative paths resolve against
     */
    public static Recipe parse(String text, String name, Path dir, Path file, List<String> sets) {
        Node root;
        try {
            root = compose(text, name).orElse(null);
        } catch (MarkedYamlEngineException e) {
            throw new RecipeException(at(name, e.getProblemMark().orElse(e.getContextMark().orElse(null)))
                    + ": invalid YAML: " + oneLine(e.getProblem()), e);
        } catch (YamlEngineException e) {
            throw new RecipeException(name + ": invalid YAML: " + oneLine(e.getMessage()), e);
        }
        if (root == null || root instanceof ScalarNode s && s.getTag().equals(Tag.NULL)) {
            throw new RecipeException(name + ": the recipe is empty; it needs at least 'model:' and 'data.train:'"
                    + " (fabric tune --print-recipe shows every field)");
        }
        if (!(root instanceof MappingNode top)) {
            throw new RecipeException(where(name, root) + ": a recipe is a mapping of keys (model:, data:, lora:,"
                    + " train: ...), not " + describe(root));
        }
        Reader r = new Reader(name);
        Map<String, Val> values = new LinkedHashMap<>();
        List<Map<String, Val>> stages = new ArrayList<>();
        List<String> stageWhere = new ArrayList<>();
        r.mapping(top, "", "", RecipeSchema.BY_KEY, RecipeSchema.SECTIONS, values, stages, stageWhere);
        for (String s : sets == null ? List.<String>of() : sets) applySet(s, values, stages);
        return build(name, dir, file, values, stages, stageWhere);
    }

    private static Optional<Node> compose(String text, String name) {
        LoadSettings settings = LoadSettings.builder().setLabel(name).setSchema(new CoreSchema())
                .setAllowDuplicateKeys(true).setMaxAliasesForCollections(10).build();
        return new Compose(settings).composeString(text);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').strip();
    }

    static String at(String name, Mark m) {
        return m == null ? name : name + ":" + (m.getLine() + 1) + ":" + (m.getColumn() + 1);
    }

    static String where(String name, Node n) {
        return at(name, n.getStartMark().orElse(null));
    }

    private static String describe(Node n) {
        if (n instanceof MappingNode) return "a mapping";
        if (n instanceof SequenceNode) return "a list";
        ScalarNode s = (ScalarNode) n;
        if (s.getTag().equals(Tag.NULL)) return "null";
        return "'" + s.getValue() + "'";
    }

    // ---- reading nodes --------------------------------------------------------------------------------------

    private static final class Reader {
        final String name;

        Reader(String name) {
            this.name = name;
        }

        String where(Node n) {
            return RecipeLoader.where(name, n);
        }

        /**
         * Reads a mapping's keys into {@code out}.
         *
         * @param prefix  the dotted key of this mapping ("" at the top, "data." inside data)
         * @param display what errors print before a key ("stages[1]." inside a stage)
         */
        void mapping(MappingNode node, String prefix, String display, Map<String, Field> fields, Set<String> sections,
                Map<String, Val> out, List<Map<String, Val>> stages, List<String> stageWhere) {
            Map<String, Node> seen = new LinkedHashMap<>();
            for (NodeTuple t : node.getValue()) {
                Node kn = t.getKeyNode(), vn = t.getValueNode();
                if (!(kn instanceof ScalarNode ks) || ks.getTag().equals(Tag.NULL)) {
                    throw new RecipeException(where(kn) + ": " + display + prefix + "<key>: keys are plain names, not "
                            + describe(kn));
                }
                String key = prefix + ks.getValue();
                Node first = seen.put(ks.getValue(), kn);
                if (first != null) {
                    throw new RecipeException(where(kn) + ": " + display + key + ": duplicate key (first at "
                            + where(first) + ")");
                }
                if (stages != null && key.equals("stages")) {
                    stages(vn, stages, stageWhere);
                } else if (fields.containsKey(key)) {
                    out.put(key, new Val(convert(fields.get(key), display, vn, where(vn)), where(vn)));
                } else if (sections.contains(key)) {
                    if (vn instanceof MappingNode m) {
                        mapping(m, key + ".", display, fields, sections, out, null, null);
                    } else if (!(vn instanceof ScalarNode s && s.getTag().equals(Tag.NULL))) {
                        throw new RecipeException(where(vn) + ": " + display + key + ": expected a section with keys"
                                + " such as " + sectionKeys(fields, key) + ", got " + describe(vn));
                    }
                } else {
                    Set<String> known = new LinkedHashSet<>(fields.keySet());
                    known.addAll(sections);
                    if (stages != null) known.add("stages");
                    throw new RecipeException(where(kn) + ": " + display + key + ": unknown key"
                            + Suggest.didYouMean(key, known, display));
                }
            }
        }

        void stages(Node vn, List<Map<String, Val>> stages, List<String> stageWhere) {
            if (!(vn instanceof SequenceNode seq)) {
                throw new RecipeException(where(vn) + ": stages: expected a list of stages (- data: ..., epochs: ...),"
                        + " got " + describe(vn));
            }
            if (seq.getValue().isEmpty()) {
                throw new RecipeException(where(vn) + ": stages: an empty list; give at least one stage or remove it");
            }
            for (int i = 0; i < seq.getValue().size(); i++) {
                Node item = seq.getValue().get(i);
                String display = "stages[" + i + "].";
                if (!(item instanceof MappingNode m)) {
                    throw new RecipeException(where(item) + ": stages[" + i + "]: expected a stage (a mapping with keys"
                            + " such as name, data, epochs, schedule), got " + describe(item));
                }
                Map<String, Val> st = new LinkedHashMap<>();
                mapping(m, "", display, RecipeSchema.STAGE_BY_KEY, RecipeSchema.STAGE_SECTIONS, st, null, null);
                stages.add(st);
                stageWhere.add(where(item));
            }
        }
    }

    private static String sectionKeys(Map<String, Field> fields, String section) {
        List<String> keys = new ArrayList<>();
        for (String k : fields.keySet()) if (k.startsWith(section + ".")) keys.add(k.substring(section.length() + 1));
        return String.join(", ", keys.subList(0, Math.min(4, keys.size())));
    }

    // ---- converting values ----------------------------------------------------------------------------------

    private static final Pattern SIZE = Pattern.compile("(?i)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\\s*");

    /** A node's value for {@code f}, validated; null for an explicit YAML null where the field may be unset. */
    static Object convert(Field f, String display, Node n, String where) {
        String key = display + f.key();
        String bad = where + ": " + key + ": expected " + f.expected() + ", got ";
        if (f.kind() == Field.Kind.PATHS || f.kind() == Field.Kind.ENUM_LIST) {
            List<String> items = new ArrayList<>();
            if (n instanceof SequenceNode seq) {
                if (seq.getValue().isEmpty()) throw new RecipeException(where + ": " + key + ": an empty list");
                for (Node item : seq.getValue()) {
                    if (!(item instanceof ScalarNode s) || s.getTag().equals(Tag.NULL) || s.getValue().isBlank()) {
                        throw new RecipeException(bad + "an item " + describe(item));
                    }
                    items.add(s.getValue());
                }
            } else if (n instanceof ScalarNode s && !s.getTag().equals(Tag.NULL)) {
                items.add(s.getValue());
            } else if (n instanceof ScalarNode && f.dflt() == null) {
                return null;
            } else {
                throw new RecipeException(bad + describe(n));
            }
            if (f.kind() == Field.Kind.ENUM_LIST) {
                if (items.size() == 1 && items.get(0).equals("all")) return List.copyOf(f.choices());
                Set<String> seen = new LinkedHashSet<>();
                for (String it : items) {
                    if (!f.choices().contains(it)) {
                        throw new RecipeException(where + ": " + key + ": unknown value '" + it + "'"
                                + Suggest.didYouMean(it, f.choices(), "") + "; expected " + f.expected() + " (or all)");
                    }
                    if (!seen.add(it)) throw new RecipeException(where + ": " + key + ": '" + it + "' is listed twice");
                }
            }
            return List.copyOf(items);
        }
        if (!(n instanceof ScalarNode s)) throw new RecipeException(bad + describe(n));
        Tag tag = s.getTag();
        String text = s.getValue();
        if (tag.equals(Tag.NULL)) {
            if (f.dflt() == null) return null;
            throw new RecipeException(bad + "null (remove the key to use the default, " + RecipePrinter.yaml(f.dflt()) + ")");
        }
        switch (f.kind()) {
            case INT -> {
                double d = number(tag, text, bad);
                if (d != Math.rint(d) || Math.abs(d) > 9.0e18) throw new RecipeException(bad + text);
                range(f, d, where, key, text);
                return (long) d;
            }
            case NUMBER -> {
                double d = number(tag, text, bad);
                range(f, d, where, key, text);
                return d;
            }
            case BOOL -> {
                if (!tag.equals(Tag.BOOL)) throw new RecipeException(bad + "'" + text + "'");
                return Boolean.parseBoolean(text.toLowerCase(Locale.ROOT));
            }
            case STRING, PATH -> {
                if (tag.equals(Tag.BOOL) || text.isBlank()) throw new RecipeException(bad + describe(n));
                return text;
            }
            case ENUM -> {
                String v = text.toLowerCase(Locale.ROOT);
                if (!f.choices().contains(v)) {
                    throw new RecipeException(where + ": " + key + ": unknown value '" + text + "'"
                            + Suggest.didYouMean(v, f.choices(), "") + "; expected " + f.expected());
                }
                return v;
            }
            case SIZE -> {
                Matcher m = SIZE.matcher(text);
                if (tag.equals(Tag.BOOL) || !m.matches()) throw new RecipeException(bad + "'" + text + "'");
                double v = Double.parseDouble(m.group(1));
                String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
                double mult = switch (unit) {
                    case "kb" -> 1e3;
                    case "kib" -> 1024.0;
                    case "mb" -> 1e6;
                    case "mib" -> 1024.0 * 1024;
                    case "gb" -> 1e9;
                    case "gib" -> 1024.0 * 1024 * 1024;
                    case "tb" -> 1e12;
                    case "tib" -> 1024.0 * 1024 * 1024 * 1024;
                    default -> 1;
                };
                double bytes = v * mult;
                if (bytes < 1 << 20 || bytes > 1e15) {
                    throw new RecipeException(where + ": " + key + ": " + text + " is out of range: expected 1MiB to"
                            + " 1PB");
                }
                return (long) bytes;
            }
            default -> throw new IllegalStateException(f.kind().toString());
        }
    }

    private static double number(Tag tag, String text, String bad) {
        if (!tag.equals(Tag.INT) && !tag.equals(Tag.FLOAT)) throw new RecipeException(bad + "'" + text + "'");
        double d;
        try {
            String t = text.startsWith("+") ? text.substring(1) : text;
            if (tag.equals(Tag.INT) && t.startsWith("0x")) d = Long.parseLong(t.substring(2), 16);
            else if (tag.equals(Tag.INT) && t.startsWith("0o")) d = Long.parseLong(t.substring(2), 8);
            else d = new BigDecimal(t).doubleValue();
        } catch (NumberFormatException e) {
            throw new RecipeException(bad + text);
        }
        if (!Double.isFinite(d)) throw new RecipeException(bad + text);
        return d;
    }

    private static void range(Field f, double d, String where, String key, String text) {
        if (d < f.min() || (f.minExclusive() && d == f.min()) || d > f.max()) {
            throw new RecipeException(where + ": " + key + ": " + text + " is out of range: expected " + f.expected());
        }
    }

    // ---- --set ----------------------------------------------------------------------------------------------

    private static void applySet(String set, Map<String, Val> values, List<Map<String, Val>> stages) {
        String where = "--set " + set;
        int eq = set.indexOf('=');
        if (eq <= 0) throw new RecipeException(where + ": expected KEY=VALUE, e.g. --set lora.rank=8");
        String key = set.substring(0, eq).strip(), text = set.substring(eq + 1);
        Node node;
        try {
            node = compose(text, "--set").orElse(new ScalarNode(Tag.NULL, "", org.snakeyaml.engine.v2.common.ScalarStyle.PLAIN));
        } catch (YamlEngineException e) {
            throw new RecipeException(where + ": the value is not valid YAML: " + oneLine(e.getMessage()));
        }
        if (key.startsWith("stages.") || key.equals("stages")) {
            String[] parts = key.split("\\.", 3);
            int i;
            try {
                i = parts.length == 3 ? Integer.parseInt(parts[1]) : -1;
            } catch (NumberFormatException e) {
                i = -1;
            }
            if (i < 0) throw new RecipeException(where + ": a stage's field is set as stages.N.KEY, e.g. stages.0.epochs=2");
            if (i >= stages.size()) {
                throw new RecipeException(where + ": the recipe has " + stages.size() + " stage(s); stages." + i
                        + " does not exist (stages are counted from 0)");
            }
            Field f = RecipeSchema.STAGE_BY_KEY.get(parts[2]);
            if (f == null) {
                throw new RecipeException(where + ": stages[" + i + "]." + parts[2] + ": unknown key"
                        + Suggest.didYouMean(parts[2], RecipeSchema.STAGE_BY_KEY.keySet(), "stages[" + i + "]."));
            }
            stages.get(i).put(f.key(), new Val(convert(f, "stages[" + i + "].", node, where), where));
            return;
        }
        Field f = RecipeSchema.BY_KEY.get(key);
        if (f == null) {
            if (RecipeSchema.SECTIONS.contains(key)) {
                throw new RecipeException(where + ": " + key + " is a section; set one of its keys, e.g. " + key + "."
                        + sectionKeys(RecipeSchema.BY_KEY, key).split(", ")[0]);
            }
            throw new RecipeException(where + ": " + key + ": unknown key"
                    + Suggest.didYouMean(key, RecipeSchema.BY_KEY.keySet(), ""));
        }
        values.put(key, new Val(convert(f, "", node, where), where));
    }

    // ---- validating and building ----------------------------------------------------------------------------

    private static Object get(Map<String, Val> values, String key) {
        Val v = values.get(key);
        return v != null && v.value() != null ? v.value() : RecipeSchema.BY_KEY.get(key).dflt();
    }

    private static boolean given(Map<String, Val> values, String key) {
        Val v = values.get(key);
        return v != null && v.value() != null;
    }

    private static Recipe build(String name, Path dir, Path file, Map<String, Val> values, List<Map<String, Val>> stageVals,
            List<String> stageWhere) {
        // model
        if (!given(values, "model")) {
            throw new RecipeException(name + ": model: missing; set it to the base model's GGUF file"
                    + " (model: path/to/model.gguf)");
        }
        Path model = existing(dir, values.get("model"), "model");
        // template
        String template = null;
        Path templateFile = null;
        if (given(values, "template")) {
            Val v = values.get("template");
            String t = ((String) v.value()).strip();
            if (ChatTemplate.BUILT_IN.contains(t.toLowerCase(Locale.ROOT))) {
                template = t.toLowerCase(Locale.ROOT);
            } else if (t.contains("/") || t.contains("\\") || t.contains(".")) {
                template = t;
                templateFile = existing(dir, v, "template");
            } else {
                throw new RecipeException(v.where() + ": template: unknown chat template '" + t + "'"
                        + Suggest.didYouMean(t.toLowerCase(Locale.ROOT), ChatTemplate.BUILT_IN, "")
                        + "; built-in: " + String.join(", ", ChatTemplate.BUILT_IN) + ", or a .jinja file");
            }
        }
        // top-level train fields
        exclusive(values, "train.steps", "train.epochs", "");
        exclusive(values, "data.valid", "data.valid_fraction", "");
        checkWarmup(values, "train.warmup", "train.steps", "train.warmup");
        Recipe.Train train = new Recipe.Train(
                given(values, "train.steps") ? (int) (long) (Long) get(values, "train.steps") : null,
                (Double) get(values, "train.epochs"), (Double) get(values, "train.lr"),
                Recipe.Schedule.valueOf(((String) get(values, "train.schedule")).toUpperCase(Locale.ROOT)),
                (Double) get(values, "train.warmup"), intOf(values, "train.context"), intOf(values, "train.batch"),
                intOf(values, "train.accumulate"), (Boolean) get(values, "train.pack"),
                (Boolean) get(values, "train.checkpointing"), (Double) get(values, "train.weight_decay"),
                (Double) get(values, "train.grad_clip"));
        @SuppressWarnings("unchecked")
        Recipe.Lora lora = new Recipe.Lora(intOf(values, "lora.rank"), (Double) get(values, "lora.alpha"),
                (Double) get(values, "lora.dropout"), (List<String>) get(values, "lora.targets"),
                (Boolean) get(values, "lora.rslora"));
        boolean explicit = !stageVals.isEmpty();
        Recipe.Data data = null;
        if (given(values, "data.train")) {
            data = data(dir, values, "");
        } else if (!explicit) {
            throw new RecipeException(name + ": data.train: missing; set it to your training file(s)"
                    + " (data: {train: train.jsonl})");
        }
        // stages
        List<Recipe.Stage> stages = new ArrayList<>();
        List<Map<String, Object>> stageValues = new ArrayList<>();
        if (!explicit) {
            stages.add(new Recipe.Stage("main", data, train.steps(), train.epochs(), train.lr(), train.schedule(),
                    train.warmup()));
        }
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < stageVals.size(); i++) {
            Map<String, Val> sv = stageVals.get(i);
            String display = "stages[" + i + "].";
            exclusive(sv, "steps", "epochs", display);
            exclusive(sv, "data.valid", "data.valid_fraction", display);
            if (!given(sv, "data.train") && data == null) {
                throw new RecipeException(stageWhere.get(i) + ": " + display + "data.train: missing; set it in the"
                        + " stage or set data.train at the top level");
            }
            String stageName = given(sv, "name") ? (String) sv.get("name").value() : "stage-" + (i + 1);
            if (!names.add(stageName)) {
                throw new RecipeException((given(sv, "name") ? sv.get("name").where() : stageWhere.get(i)) + ": "
                        + display + "name: '" + stageName + "' names two stages");
            }
            // effective: the stage's value, else the top level's
            Map<String, Val> eff = new LinkedHashMap<>();
            values.forEach((k, v) -> {
                if (k.startsWith("data.") || k.startsWith("train.")) eff.put(k, v);
            });
            for (Field f : RecipeSchema.STAGE_FIELDS) {
                if (f.key().equals("name")) continue;
                Val own = sv.get(f.key());
                if (own != null && own.value() != null) eff.put(RecipeSchema.inherited(f.key()), own);
            }
            boolean ownLength = given(sv, "steps") || given(sv, "epochs");
            if (ownLength) {
                eff.remove(given(sv, "steps") ? "train.epochs" : "train.steps");
            }
            // A stage's own validation choice replaces the top level's either way.
            if (given(sv, "data.valid_fraction")) eff.remove("data.valid");
            if (given(sv, "data.valid")) eff.remove("data.valid_fraction");
            checkWarmup(eff, "train.warmup", "train.steps", display + "warmup");
            Recipe.Data sd = data(dir, eff, display);
            Integer steps = given(eff, "train.steps") ? (int) (long) (Long) get(eff, "train.steps") : null;
            stages.add(new Recipe.Stage(stageName, sd, steps, (Double) get(eff, "train.epochs"),
                    (Double) get(eff, "train.lr"),
                    Recipe.Schedule.valueOf(((String) get(eff, "train.schedule")).toUpperCase(Locale.ROOT)),
                    (Double) get(eff, "train.warmup")));
            Map<String, Object> shown = new LinkedHashMap<>();
            shown.put("name", stageName);
            for (Field f : RecipeSchema.STAGE_FIELDS) {
                if (f.key().equals("name")) continue;
                shown.put(f.key(), get(eff, RecipeSchema.inherited(f.key())));
            }
            if (steps != null) shown.remove("epochs");
            stageValues.add(shown);
        }
        if (data == null) data = stages.get(0).data();
        Long memory = (Long) get(values, "memory");
        Map<String, Object> effective = new LinkedHashMap<>();
        for (Field f : RecipeSchema.FIELDS) effective.put(f.key(), get(values, f.key()));
        if (train.steps() != null) effective.put("train.epochs", null);
        String canonical = canonical(effective, explicit ? stageValues : List.of());
        return new Recipe(file, model, template, templateFile, data, lora, train,
                new Recipe.Eval(intOf(values, "eval.every"),
                        given(values, "eval.questions") ? existing(dir, values.get("eval.questions"), "eval.questions") : null),
                new Recipe.Checkpoint(intOf(values, "checkpoint.every"), intOf(values, "checkpoint.keep")),
                (Long) get(values, "seed"), intOf(values, "threads"), memory,
                dir.resolve((String) get(values, "output")).normalize(), stages, explicit, effective, stageValues,
                sha256(canonical), canonical);
    }

    private static int intOf(Map<String, Val> values, String key) {
        return (int) (long) (Long) get(values, key);
    }

    private static void exclusive(Map<String, Val> values, String a, String b, String display) {
        if (given(values, a) && given(values, b)) {
            throw new RecipeException(values.get(b).where() + ": " + display + b + ": set " + display + a + " or "
                    + display + b + ", not both (" + display + a + " at " + values.get(a).where() + ")");
        }
    }

    private static void checkWarmup(Map<String, Val> values, String warmupKey, String stepsKey, String label) {
        if (!given(values, warmupKey)) return;
        double w = (Double) values.get(warmupKey).value();
        String where = values.get(warmupKey).where();
        if (w >= 1 && w != Math.rint(w)) {
            throw new RecipeException(where + ": " + label + ": " + Field.num(w) + " is neither a share below 1"
                    + " nor a whole number of steps");
        }
        if (w >= 1 && given(values, stepsKey) && w > (Long) values.get(stepsKey).value()) {
            throw new RecipeException(where + ": " + label + ": " + Field.num(w) + " warmup steps exceed the "
                    + values.get(stepsKey).value() + " steps of the run");
        }
    }

    @SuppressWarnings("unchecked")
    private static Recipe.Data data(Path dir, Map<String, Val> values, String display) {
        Val trainVal = values.get("data.train");
        List<Path> train = new ArrayList<>();
        for (String p : (List<String>) trainVal.value()) train.add(existing(dir, p, trainVal.where(), display + "data.train"));
        Path valid = given(values, "data.valid") ? existing(dir, values.get("data.valid"), display + "data.valid") : null;
        String format = (String) get(values, "data.format");
        return new Recipe.Data(train, valid, valid != null ? 0.0 : (Double) get(values, "data.valid_fraction"),
                Recipe.Format.valueOf(format.toUpperCase(Locale.ROOT)),
                Recipe.Overlong.valueOf(((String) get(values, "data.overlong")).toUpperCase(Locale.ROOT)),
                switch ((String) get(values, "data.thinking")) {
                    case "on" -> Boolean.TRUE;
                    case "off" -> Boolean.FALSE;
                    default -> null;
                }, (Boolean) get(values, "data.split_turns"), (Double) get(values, "data.max_malformed"));
    }

    private static Path existing(Path dir, Val v, String key) {
        return existing(dir, (String) v.value(), v.where(), key);
    }

    private static Path existing(Path dir, String text, String where, String key) {
        Path p = dir.resolve(text).normalize();
        if (!Files.isRegularFile(p)) {
            throw new RecipeException(where + ": " + key + ": no such file: " + p
                    + (Files.isDirectory(p) ? " (a folder; name a file)" : ""));
        }
        return p;
    }

    // ---- canonical form and hash ----------------------------------------------------------------------------

    /**
     * One {@code key=value} line per hashed field, keys sorted; stages as {@code stages.N.key=value} with their
     * effective values. Numbers in plain decimal without trailing zeros, strings and paths JSON-quoted as
     * written in the recipe (paths are not resolved, so a recipe moved with its data keeps its hash).
     */
    static String canonical(Map<String, Object> effective, List<Map<String, Object>> stages) {
        TreeMap<String, String> lines = new TreeMap<>();
        for (Field f : RecipeSchema.FIELDS) if (f.hashed()) lines.put(f.key(), canon(effective.get(f.key())));
        for (int i = 0; i < stages.size(); i++) {
            for (Map.Entry<String, Object> e : stages.get(i).entrySet()) {
                lines.put("stages." + i + "." + e.getKey(), canon(e.getValue()));
            }
        }
        StringBuilder sb = new StringBuilder();
        lines.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString();
    }

    static String canon(Object v) {
        if (v == null) return "null";
        if (v instanceof Double d) return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
        if (v instanceof Long || v instanceof Boolean) return v.toString();
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            for (Object o : l) parts.add(canon(o));
            return "[" + String.join(",", parts) + "]";
        }
        String s = v.toString();
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    static String sha256(String text) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
