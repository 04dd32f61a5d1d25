package dev.fabric.basemodel;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The two data sets of Fabric's own model, as chat rows in OpenAI {@code messages} JSONL: the pretraining
 * corpus (facts about random invented entities) and the quickstart's hospital set (fixed facts, split by
 * phrasing into training questions and held-out paraphrases).
 */
public final class Corpus {
    /** Phrasing held out of the quickstart's training rows; every other phrasing is trained on. */
    public static final int HELD_OUT_PHRASING = 3;

    private static final ObjectMapper JSON = new ObjectMapper();

    private Corpus() {}

    /** {@code documents} conversations of one to four turns, each about one invented ward or medicine. */
    public static List<String> pretraining(long seed, int documents) {
        FactWorld world = new FactWorld(seed, FactWorld.quickstartNames());
        List<String> rows = new ArrayList<>(documents);
        for (int d = 0; d < documents; d++) {
            FactWorld.Kind kind = world.random().nextInt(3) == 0 ? FactWorld.Kind.MEDICINE : FactWorld.Kind.WARD;
            List<FactWorld.Fact> facts = world.entity(kind);
            rows.add(messagesRow(world.conversation(facts, 1 + world.random().nextInt(4))));
        }
        return rows;
    }

    /** The quickstart's training rows: one question per fact and trained phrasing. */
    public static List<String> quickstartTrain() {
        List<String> rows = new ArrayList<>();
        for (FactWorld.Fact f : FactWorld.quickstartHospital()) {
            for (int p = 0; p < f.attribute().questions().size(); p++) {
                if (p != HELD_OUT_PHRASING) rows.add(messagesRow(List.<String[]>of(new String[] {f.question(p), f.answer()})));
            }
        }
        return rows;
    }

    /** The held-out paraphrases: one question per fact, in the phrasing no training row uses. */
    public static List<String> quickstartHeldOut() {
        List<String> rows = new ArrayList<>();
        for (FactWorld.Fact f : FactWorld.quickstartHospital()) {
            rows.add(messagesRow(List.<String[]>of(new String[] {f.question(HELD_OUT_PHRASING), f.answer()})));
        }
        return rows;
    }

    /** One JSONL line: {"messages":[{"role":"user","content":Q},{"role":"assistant","content":A},...]}. */
    static String messagesRow(List<String[]> turns) {
        ObjectNode row = JSON.createObjectNode();
        ArrayNode messages = row.putArray("messages");
        for (String[] t : turns) {
            messages.addObject().put("role", "user").put("content", t[0]);
            messages.addObject().put("role", "assistant").put("content", t[1]);
        }
        try {
            return JSON.writeValueAsString(row);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One row made by {@link #messagesRow} as chat messages. */
    public static List<dev.fabric.template.ChatMessage> messages(String row) {
        List<dev.fabric.template.ChatMessage> out = new ArrayList<>();
        try {
            for (var m : JSON.readTree(row).get("messages"))
                out.add(new dev.fabric.template.ChatMessage(m.get("role").asText(), m.get("content").asText()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
        return out;
    }

    /** The conversations of rows made by {@link #messagesRow}, as (question, answer) pairs. */
    public static List<Map.Entry<String, String>> pairs(List<String> rows) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        try {
            for (String r : rows) {
                var messages = JSON.readTree(r).get("messages");
                for (int i = 0; i + 1 < messages.size(); i += 2) {
                    out.add(Map.entry(messages.get(i).get("content").asText(),
                            messages.get(i + 1).get("content").asText()));
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
        return out;
    }
}
