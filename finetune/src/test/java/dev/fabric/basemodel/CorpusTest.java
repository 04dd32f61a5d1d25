package dev.fabric.basemodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CorpusTest {
    @Test
    void pretraining_isAFunctionOfTheSeed() {
        assertEquals(Corpus.pretraining(7, 300), Corpus.pretraining(7, 300));
        assertNotEquals(Corpus.pretraining(7, 300), Corpus.pretraining(8, 300));
    }

    @Test
    void pretraining_neverMentionsTheQuickstartHospital() {
        Set<String> names = FactWorld.quickstartNames();
        for (String row : Corpus.pretraining(1, 20_000)) {
            for (String n : names) assertFalse(row.contains(n), () -> n + " in " + row);
        }
    }

    @Test
    void quickstart_heldOutQuestionsAreNeverTrained_butEveryFactIs() {
        List<Map.Entry<String, String>> train = Corpus.pairs(Corpus.quickstartTrain());
        List<Map.Entry<String, String>> held = Corpus.pairs(Corpus.quickstartHeldOut());
        Set<String> trainedQuestions = new HashSet<>();
        Set<String> trainedAnswers = new HashSet<>();
        for (var e : train) {
            trainedQuestions.add(e.getKey());
            trainedAnswers.add(e.getValue());
        }
        assertEquals(FactWorld.quickstartHospital().size(), held.size());
        assertEquals(3 * held.size(), train.size());
        for (var e : held) {
            assertFalse(trainedQuestions.contains(e.getKey()), e.getKey());
            assertTrue(trainedAnswers.contains(e.getValue()), e.getValue());
        }
        // Every answer is distinct, so exact match on an answer identifies the fact.
        assertEquals(held.size(), new HashSet<>(held.stream().map(Map.Entry::getValue).toList()).size());
    }

    @Test
    void answers_areSentences() {
        for (var e : Corpus.pairs(Corpus.quickstartTrain())) {
            assertTrue(Character.isUpperCase(e.getValue().charAt(0)), e.getValue());
            assertTrue(e.getValue().endsWith("."), e.getValue());
        }
    }
}
