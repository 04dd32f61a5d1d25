package dev.fabric.basemodel;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The text Fabric's own base model learns from, written by this class rather than taken from anywhere: facts
 * about invented hospital wards and invented medicines, asked and answered in several phrasings. Pretraining on
 * many random such facts teaches a small model the question forms, the answer forms and the chat layout; a
 * LoRA on a hospital's own facts (the quickstart's, see {@link #quickstartHospital()}) then has only the new
 * facts to learn, and held-out phrasings of the same questions show whether it learned facts or strings.
 *
 * <p>Everything is a function of a seed ({@link SplittableRandom}, whose sequence is specified by its Javadoc),
 * so the corpus, and with it the committed base model, can be regenerated.
 */
public final class FactWorld {
    /** What a fact is about. */
    public enum Kind { WARD, MEDICINE }

    /** One attribute of an entity, with its question phrasings and its answer form ({E} entity, {V} value). */
    public record Attribute(String name, Kind kind, List<String> questions, String answer) {
        public String question(int phrasing, String entity) {
            return questions.get(phrasing).replace("{E}", entity);
        }

        public String answer(String entity, String value) {
            return capitalise(answer.replace("{E}", entity).replace("{V}", value));
        }
    }

    /** A fact: an entity's value for an attribute. */
    public record Fact(String entity, Attribute attribute, String value) {
        public String question(int phrasing) {
            return attribute.question(phrasing, entity);
        }

        public String answer() {
            return attribute.answer(entity, value);
        }
    }

    public static final List<Attribute> ATTRIBUTES = List.of(
            new Attribute("visiting_hours", Kind.WARD, List.of(
                    "What are the visiting hours on {E}?",
                    "When can I visit patients on {E}?",
                    "At what times are visitors allowed on {E}?",
                    "When are visitors welcome on {E}?"),
                    "visiting hours on {E} are {V}."),
            new Attribute("floor", Kind.WARD, List.of(
                    "Which floor is {E} on?",
                    "Where is {E}?",
                    "On what floor can I find {E}?",
                    "How do I find {E}?"),
                    "{E} is on the {V} floor."),
            new Attribute("extension", Kind.WARD, List.of(
                    "What is the phone extension for {E}?",
                    "How do I call {E}?",
                    "What number reaches {E}?",
                    "Which extension should I dial for {E}?"),
                    "the extension for {E} is {V}."),
            new Attribute("head_nurse", Kind.WARD, List.of(
                    "Who is the head nurse of {E}?",
                    "Who leads the nurses on {E}?",
                    "Who is in charge of nursing on {E}?",
                    "Which nurse runs {E}?"),
                    "the head nurse of {E} is {V}."),
            new Attribute("dose", Kind.MEDICINE, List.of(
                    "What is the adult dose of {E}?",
                    "How much {E} does an adult take?",
                    "What adult dose of {E} does the formulary give?",
                    "How should {E} be dosed for an adult?"),
                    "the formulary adult dose of {E} is {V}."),
            new Attribute("route", Kind.MEDICINE, List.of(
                    "How is {E} given?",
                    "By which route is {E} taken?",
                    "What route does the formulary give for {E}?",
                    "How do patients receive {E}?"),
                    "{E} is given {V}."));

    private static final String[] ONSETS = {"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s",
            "t", "v", "w", "z", "br", "cl", "dr", "fl", "gr", "pr", "st", "th", "tr"};
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ea", "ou"};
    private static final String[] CODAS = {"", "", "n", "r", "l", "s", "m", "nd", "rt", "x"};
    private static final String[] MEDICINE_ENDINGS = {"ine", "ol", "ex", "amab", "ide", "ant", "ium", "azole"};
    private static final String[] ORDINALS = {"ground", "first", "second", "third", "fourth", "fifth", "sixth",
            "seventh", "eighth", "ninth"};
    private static final String[] ROUTES = {"by mouth", "intravenously", "by intramuscular injection",
            "under the skin", "as an inhaler", "as a skin cream"};
    private static final String[] FREQUENCIES = {"once daily", "twice daily", "three times daily",
            "every six hours", "every eight hours", "at night"};
    private static final int[] DOSES_MG = {5, 10, 20, 25, 40, 50, 100, 200, 250, 400, 500, 1000};

    private final SplittableRandom random;
    private final Set<String> reserved;

    /** @param reserved entity names never produced (the quickstart hospital's, so the base model cannot know them) */
    public FactWorld(long seed, Set<String> reserved) {
        this.random = new SplittableRandom(seed);
        this.reserved = reserved;
    }

    /** A new invented entity of a kind, with one fact for each of its kind's attributes. */
    public List<Fact> entity(Kind kind) {
        String name;
        do {
            name = kind == Kind.WARD ? capitalise(word(2)) + " ward" : capitalise(word(2) + pick(MEDICINE_ENDINGS));
        } while (reserved.contains(name));
        List<Fact> facts = new ArrayList<>();
        for (Attribute a : ATTRIBUTES) if (a.kind() == kind) facts.add(new Fact(name, a, value(a)));
        return facts;
    }

    /** A document: some facts about one entity as a chat of questions in random phrasings and their answers. */
    public List<String[]> conversation(List<Fact> facts, int turns) {
        List<String[]> turnsOut = new ArrayList<>();
        for (int t = 0; t < turns; t++) {
            Fact f = facts.get(random.nextInt(facts.size()));
            int p = random.nextInt(f.attribute().questions().size());
            turnsOut.add(new String[] {f.question(p), f.answer()});
        }
        return turnsOut;
    }

    public SplittableRandom random() {
        return random;
    }

    private String value(Attribute a) {
        return switch (a.name()) {
            case "visiting_hours" -> {
                int from = 8 + random.nextInt(6), to = from + 4 + random.nextInt(8);
                yield String.format("%02d:00 to %02d:00", from, Math.min(to, 22));
            }
            case "floor" -> pick(ORDINALS);
            case "extension" -> String.valueOf(2000 + random.nextInt(8000));
            case "head_nurse" -> capitalise(word(2)) + " " + capitalise(word(2 + random.nextInt(2)));
            case "dose" -> DOSES_MG[random.nextInt(DOSES_MG.length)] + " mg " + pick(FREQUENCIES);
            case "route" -> pick(ROUTES);
            default -> throw new IllegalStateException(a.name());
        };
    }

    private String word(int syllables) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < syllables; i++) b.append(pick(ONSETS)).append(pick(VOWELS)).append(pick(CODAS));
        return b.toString();
    }

    private String pick(String[] options) {
        return options[random.nextInt(options.length)];
    }

    static String capitalise(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /**
     * The quickstart's hospital, Larkspur General (invented): facts that no pretraining document contains. Its
     * names are reserved when the base model's corpus is generated.
     */
    public static List<Fact> quickstartHospital() {
        List<Fact> facts = new ArrayList<>();
        String[][] wards = {
                {"Cedar ward", "10:00 to 20:00", "third", "4417", "Mira Solberg"},
                {"Harbor ward", "14:00 to 19:00", "first", "4102", "Tobias Renn"},
                {"Juniper ward", "09:00 to 21:00", "fifth", "4530", "Alma Kestrel"},
                {"Willow ward", "11:00 to 18:00", "second", "4268", "Jonas Pell"},
                {"Aster ward", "13:00 to 20:00", "fourth", "4391", "Ida Marlow"},
                {"Birch ward", "08:00 to 12:00", "sixth", "4655", "Oskar Lind"}};
        for (String[] w : wards) {
            facts.add(new Fact(w[0], attribute("visiting_hours"), w[1]));
            facts.add(new Fact(w[0], attribute("floor"), w[2]));
            facts.add(new Fact(w[0], attribute("extension"), w[3]));
            facts.add(new Fact(w[0], attribute("head_nurse"), w[4]));
        }
        String[][] medicines = {
                {"Larocaine", "200 mg twice daily", "by mouth"},
                {"Veltrazole", "40 mg once daily", "intravenously"},
                {"Quenamab", "100 mg every eight hours", "under the skin"},
                {"Sorbidex", "500 mg three times daily", "by mouth"},
                {"Myralide", "25 mg at night", "as an inhaler"},
                {"Tovanium", "10 mg every six hours", "by intramuscular injection"}};
        for (String[] m : medicines) {
            facts.add(new Fact(m[0], attribute("dose"), m[1]));
            facts.add(new Fact(m[0], attribute("route"), m[2]));
        }
        return facts;
    }

    /** Entity names of {@link #quickstartHospital()}. */
    public static Set<String> quickstartNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Fact f : quickstartHospital()) names.add(f.entity());
        return names;
    }

    public static Attribute attribute(String name) {
        for (Attribute a : ATTRIBUTES) if (a.name().equals(name)) return a;
        throw new IllegalArgumentException(name);
    }
}
